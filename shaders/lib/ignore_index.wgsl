// The NLL losses' ignore index (PyTorch's ignore_index): a kernel with variant IGNORE declares
// `ignoreIndex: i32` in its Params and takes a label of those 32 bits as ignored. Appended to
// log_softmax_nll_forward, nll_forward and batch_metrics (their `libraries`).

/** Whether a label is the ignore index (never without IGNORE). */
fn ignored(label: u32) -> bool {
#if IGNORE
  return bitcast<i32>(label) == params.ignoreIndex;
#else
  return false;
#endif
}
