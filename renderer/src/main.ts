import { createPinia } from 'pinia';
import { createApp } from 'vue';

import { detectTransport, provideTransport } from './api/index.ts';
import App from './App.vue';
import { router } from './router.ts';
import './styles.css';

const app = createApp(App);
provideTransport(app, detectTransport());
app.use(createPinia());
app.use(router);
app.mount('#app');
