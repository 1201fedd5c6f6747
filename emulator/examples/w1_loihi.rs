//! W1 at N = 1000 on the `loihi` preset: cycles per timestep, energy per timestep and the link hot spots.
//!
//! `cargo run --release -p plasticore-emu --example w1_loihi [-- N T PRESET STRIDE]` (STRIDE = 4 puts one
//! core on each tile of `loihi`, so spikes cross links).
use plasticore_emu::{presets, w1, EmuOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let t: u32 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let preset = args.get(3).cloned().unwrap_or_else(|| "loihi".into());
    let stride: usize = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let chip = presets::preset(&preset)?;
    let (ew, ns) = (chip.energy.hop_ew_pj, chip.energy.hop_ns_pj);
    let r = w1::run_spread(chip, n, t, EmuOptions::default(), 1, stride)?;
    println!("W1 N={} T={} on {} ({} cores, weights 8-bit Q.{})", r.n, r.t, r.chip, r.cores, r.weight_frac);
    println!("mean rate            {:.2} Hz", r.mean_rate_hz);
    println!("cycles per timestep  {:.1} ({:.3} us of chip time)", r.cycles_per_step, r.chip_us_per_step);
    println!("energy per timestep  {:.3} nJ", r.energy_per_step_nj);
    let e = &r.stats.energy;
    println!(
        "energy by phase (nJ/step): deliver {:.3} integrate {:.3} fire {:.3} route {:.3} learn {:.3} noc {:.3} static {:.3}",
        e.phases[0] / 1e3 / t as f64,
        e.phases[1] / 1e3 / t as f64,
        e.phases[2] / 1e3 / t as f64,
        e.phases[3] / 1e3 / t as f64,
        e.phases[4] / 1e3 / t as f64,
        e.noc / 1e3 / t as f64,
        e.static_ / 1e3 / t as f64
    );
    let util = r.stats.utilisation();
    for (c, u) in util.iter().enumerate() {
        println!("core {c}: utilisation {:.1} %, energy {:.3} nJ/step", 100.0 * u, r.stats.core_energy_pj[c] / 1e3 / t as f64);
    }
    println!("packets {} ({:.1}/step), delayed {}, back-pressure events {}", r.packets, r.packets as f64 / t as f64, r.stats.delayed_packets, r.stats.blocked);
    let link_e = r.stats.link_energy_pj(ew, ns);
    println!("link hot spots:");
    for h in &r.hotspots {
        let pj = if h.dir == "E" || h.dir == "W" { ew } else { ns };
        println!("  tile ({},{}) -> {}: {} packets, {:.3} nJ", h.tile.0, h.tile.1, h.dir, h.packets, h.packets as f64 * pj / 1e3);
    }
    if r.hotspots.is_empty() {
        println!("  (no inter-tile traffic)");
    }
    let local: u64 = r.stats.local_load.iter().sum();
    println!("within-tile deliveries {local}; link energy total {:.3} nJ", link_e.iter().sum::<f64>() / 1e3);
    println!("{}", r.json());
    Ok(())
}
