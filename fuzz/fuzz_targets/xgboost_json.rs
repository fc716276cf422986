//! XGBoost JSON models on any text: an error or a checked model that predicts and explains
//! without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websight_explain::TreeEnsemble;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(model) = TreeEnsemble::from_xgboost_json(text) {
        common::exercise(&model);
    }
});
