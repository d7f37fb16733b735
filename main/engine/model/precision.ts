/**
 * How an opened model stores its weights (`--precision`): native-models/onnx/storage.ts's choices, for
 * the layers above the engine, which reach native-models only through it.
 */
export { isPrecision, PRECISIONS, type Precision } from '../../../native-models/onnx/storage.ts';
