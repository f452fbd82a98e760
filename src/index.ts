// uffd-malloc: the single-VMA heap and the simulated Linux mm it runs on.
export * from './mm/index.js';
export { runScenario, ScenarioRunner } from './script/run.js';
export * from './alloc/index.js';
