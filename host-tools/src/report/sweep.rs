//! The sweep's section (`sweep.csv`): accuracy and gradient cosine against weight bits, and the table.
use super::html::table;
use crate::sweep::output::{accuracy_plot, cosine_plot};
use crate::sweep::Row;

/// The section for a sweep's rows; `name` is the file they came from.
pub fn section(name: &str, rows: &[Row]) -> String {
    let pct = |a: f64| format!("{:.1} %", 100.0 * a);
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.weight_bits.to_string(),
                r.readout_bits.to_string(),
                format!("{} (Q.{})", r.trace_bits, r.trace_frac),
                r.state_frac.to_string(),
                r.rounding.clone(),
                r.learn.to_string(),
                pct(r.acc_float),
                pct(r.acc_fixed),
                r.acc_learned.map_or("–".into(), pct),
                format!("{:.4}", r.cos_float),
                format!("{:.4}", r.cos_same_w),
            ]
        })
        .collect();
    format!(
        "<h2>Quantization sweep</h2><p class=\"note\">From <code>{}</code>. Inference: the float-trained network \
quantized at the point; on-chip learning: the core learns from the quantized initial weights; cosines: the core's \
accumulated ES-D-RTRL update against the float rule's on the float weights and on the same (dequantized) weights.</p>{}{}{}",
        super::html::esc(name),
        accuracy_plot(rows),
        cosine_plot(rows),
        table(
            &["weight bits", "readout bits", "trace bits", "state frac", "rounding", "learn", "acc float", "acc fixed", "acc learned", "cos float", "cos same W"],
            &body
        )
    )
}
