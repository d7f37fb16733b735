/** One route per view; hash history so the same build works from file:// and over HTTP. */
import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';

export const VIEWS = [
  { path: '/models', name: 'models', title: 'Models', component: () => import('./views/ModelsView.vue') },
  {
    path: '/datasets',
    name: 'datasets',
    title: 'Datasets',
    component: () => import('./views/DatasetsView.vue'),
  },
  { path: '/fusion', name: 'fusion', title: 'Fusion', component: () => import('./views/FusionView.vue') },
  {
    path: '/attention',
    name: 'attention',
    title: 'Attention',
    component: () => import('./views/AttentionView.vue'),
  },
  {
    path: '/contrastive',
    name: 'contrastive',
    title: 'Contrastive',
    component: () => import('./views/ContrastiveView.vue'),
  },
  { path: '/compare', name: 'compare', title: 'Compare', component: () => import('./views/CompareView.vue') },
  { path: '/runs', name: 'runs', title: 'Runs', component: () => import('./views/RunsView.vue') },
] as const;

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/models' },
  ...VIEWS.map((v) => ({ path: v.path, name: v.name, component: v.component, meta: { title: v.title } })),
];

export const router = createRouter({ history: createWebHashHistory(), routes });
