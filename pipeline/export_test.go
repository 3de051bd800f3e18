package pipeline

// CopyMin is copyMin, for tests that size batches to take the COPY way or not.
const CopyMin = copyMin
