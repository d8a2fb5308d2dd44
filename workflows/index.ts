/** Every workflow the worker registers (this file is the bundle entry point). */
export * from './lifecycle';
export * from './sweeps';
export * from './webhooks';
