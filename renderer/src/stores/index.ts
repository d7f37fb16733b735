/** One store per domain (Pinia setup stores); components read them through storeToRefs. */
export { useAppStore, errorText, type Notice } from './app.ts';
export { useModelsStore, type ModelLoading } from './models.ts';
export { useDatasetsStore } from './datasets.ts';
export { useJobsStore, JobFailedError, type JobProgress } from './jobs.ts';
export { useRunsStore, type SummaryOptions } from './runs.ts';
export { useAnalysesStore } from './analyses.ts';
export { useRecentStore } from './recent.ts';
export { useQueueStore } from './queue.ts';
