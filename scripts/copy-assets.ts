import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Static files that ship with the compiled code (tsc copies only what it compiles): each folder lands at
 * the same path under dist/, beside the module that reads it. Run by `npm run build`, after tsc.
 */
const ASSET_DIRS = ['apps/gateway/src/dashboard/assets'];

const root = fileURLToPath(new URL('../..', import.meta.url));
for (const dir of ASSET_DIRS) cpSync(`${root}${dir}`, `${root}dist/${dir}`, { recursive: true });
