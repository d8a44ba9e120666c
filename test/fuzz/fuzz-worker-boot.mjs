// Worker threads do not take the parent's `--import tsx` for their entry file: register tsx here, then load the
// TypeScript worker (see run.ts).
import { register } from 'tsx/esm/api';

register();
await import('./fuzz-worker.ts');
