// Module declarations for the bundler's imports that TypeScript does not know.
declare module '*.css';
