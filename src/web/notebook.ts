/** The notebook's logged test accuracy per epoch, in % (../shared/seed/seed-cnn-epochs.json, SPEC.md §2). */
export const NOTEBOOK_TEST_ACCURACY = [
  98.35, 98.74, 99.0, 98.94, 99.16, 99.25, 99.36, 99.35, 99.39, 99.33, 99.31, 99.32, 99.42, 99.39, 99.45, 99.42, 99.39, 99.36, 99.49, 99.34,
] as const;
