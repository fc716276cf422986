//! Kernel SHAP model files (logistic or MLP JSON) on any text: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websight_explain::KernelModel;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = KernelModel::from_json(text);
});
