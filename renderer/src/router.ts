/**
 * One route per view; hash history so the same build works from the app scheme and over HTTP. Views
 * load eagerly: everything is local, and a click must never wait for a chunk while the engine is busy.
 */
import type { Component } from 'vue';
import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';

import { APP_VIEWS, type AppViewName } from '../../main/common/api/shell.ts';
import AttentionView from './views/AttentionView.vue';
import CompareView from './views/CompareView.vue';
import ContrastiveView from './views/ContrastiveView.vue';
import DatasetsView from './views/DatasetsView.vue';
import FusionView from './views/FusionView.vue';
import LayersView from './views/LayersView.vue';
import ModelsView from './views/ModelsView.vue';
import PlaygroundView from './views/PlaygroundView.vue';
import RunsView from './views/RunsView.vue';

const COMPONENTS: Record<AppViewName, Component> = {
  models: ModelsView,
  datasets: DatasetsView,
  fusion: FusionView,
  attention: AttentionView,
  contrastive: ContrastiveView,
  compare: CompareView,
  layers: LayersView,
  runs: RunsView,
  playground: PlaygroundView,
};

export const VIEWS = APP_VIEWS.map((view) => ({ ...view, path: `/${view.name}` }));

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/models' },
  ...VIEWS.map((v) => ({
    path: v.path,
    name: v.name,
    component: COMPONENTS[v.name],
    meta: { title: v.title },
  })),
];

export const router = createRouter({ history: createWebHashHistory(), routes });
