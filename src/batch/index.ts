/** Many captures in one run: capture discovery by content and the batch classifier. */
export { findCaptures, looksLikeCapture, type FoundCaptures } from './find.js';
export { classifyCaptures, type BatchOptions, type BatchResult, type CaptureRecord, type CaptureResult } from './run.js';
