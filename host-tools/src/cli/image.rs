//! `plasticore image ...`: write, inspect and run network images (`hw-notes/image-format.md`).
//!
//! * `image write --preset NAME --out FILE`: a deterministic image (weights drawn from a seeded
//!   `XorShift32`), written atomically (temporary file in the same directory, fsync, rename).
//! * `image write --from-float NET.json --out FILE`: a graph image (format version 2) of a float network
//!   file (`plasticore train`'s `plasticore-float-net`), weights by the simple per-population
//!   power-of-two scale ([`graph`]; the full quantizer is issue 11).
//! * `image info FILE`: header, section table and decoded description (version 2: populations, models,
//!   sizes, projections with delays and learn flags, memory per synapse and per neuron).
//! * `image run FILE`: run the image's stimulus through `plasticore-core` on the host and print the same
//!   `RESULT ...` line the firmware prints (the CI compares them). Version-2 images (and version-1 images
//!   of sizes without a `Net` instantiation) run as a graph (`plasticore_core::graph::run_graph`);
//!   `--emulator PRESET` also runs a version-2 image on the emulated chip, every population split over
//!   several cores, and requires the same RESULT line (`emulate_image::emulator_summary`).
pub(crate) mod graph;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use plasticore_core::format::Weight;
use plasticore_core::graph::image::GraphImage;
use plasticore_core::image::{self, Image, NetDesc, RunSummary, Runner, Stimulus, TargetRule};
use plasticore_core::net::Net;
use plasticore_core::rng::XorShift32;

/// Arguments of `plasticore image`.
#[derive(clap::Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    cmd: ImageCmd,
}

#[derive(clap::Subcommand)]
enum ImageCmd {
    /// Write a preset network image, or a graph image of a float network file.
    Write {
        /// `reference` (64 inputs → 128 recurrent LIF → 4, the Cortex-M4 image and benchmark layer),
        /// `m0` (16 → 32 recurrent LIF → 2, fits the 16 KiB Cortex-M0), `smoke` (4 → 8 → 2) or `graph2`
        /// (a graph image, version 2: 64 → 96 LIF → 64 recurrent LIF → 4, the two-layer firmware image).
        #[arg(long, required_unless_present = "from_float", conflicts_with = "from_float")]
        preset: Option<String>,
        /// A float network file (`plasticore-float-net` v1 from `plasticore train`, or v2 from `nir
        /// import`: per-neuron θ and β become per-neuron records): written as a graph image (version 2)
        /// with the simple per-population power-of-two weight scale.
        #[arg(long)]
        from_float: Option<PathBuf>,
        /// Weight bits of the graph image (`--from-float`), 2..=16.
        #[arg(long, default_value_t = 8)]
        weight_bits: u8,
        /// Learning signal of every population (`--from-float`): symmetric, random or external.
        #[arg(long, default_value = "symmetric")]
        lambda: String,
        /// ES-D-RTRL trace decay α (`--from-float`; default: the file's EsdRtrl alpha, else 0.9).
        #[arg(long)]
        trace_decay: Option<f64>,
        /// Learning-rate shift of the populations, η = 2^−shift (`--from-float`).
        #[arg(long, default_value_t = 7)]
        lr_shift: u8,
        /// Learning-rate shift of the readout (`--from-float`).
        #[arg(long, default_value_t = 8)]
        readout_lr_shift: u8,
        /// Store synapses whose float weight is exactly 0 as absent: compressed rows (`--from-float`).
        #[arg(long)]
        sparse: bool,
        /// Drop the float network's biases instead of converting them (learnt biases, Q.state_frac).
        #[arg(long)]
        drop_bias: bool,
        /// Bits of the input traces ε^x (`--from-float`; binary point min(8, bits − 4)).
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u8).range(6..=16))]
        trace_bits: u8,
        /// Fractional bits of the state and the biases (`--from-float`).
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u8).range(8..=24))]
        state_frac: u8,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Override the number of steps of the stimulus.
        #[arg(long)]
        steps: Option<u32>,
        /// Turn learning off (inference-only image).
        #[arg(long)]
        no_learn: bool,
    },
    /// Print the header, section table and description of an image.
    Info {
        /// Image file.
        file: PathBuf,
    },
    /// Run the image's stimulus on the host (plasticore-core) and print the RESULT line.
    Run {
        /// Image file.
        file: PathBuf,
        /// Also run it on the emulator with this chip preset (e.g. `mcu`, `loihi`) and check that the
        /// spike/loss trajectory and the final weights, states and traces equal the host's (version 1: ε^x
        /// excepted, the single-layer emulator does not expose it; version 2: the whole RESULT line, with
        /// every population split over several cores, so the chip needs the cores for it).
        #[arg(long)]
        emulator: Option<String>,
    },
}

/// A preset: description, stimulus and the weight distribution.
struct Preset {
    desc: NetDesc,
    stim: Stimulus,
    /// Input weights uniform in this mantissa range (inclusive).
    input_w: (i32, i32),
    /// Recurrent weights uniform in this range.
    rec_w: (i32, i32),
    /// Readout weights uniform in this range.
    out_w: (i32, i32),
    weight_seed: u32,
}

/// 10 % input activity as a `rate / 2³²` probability.
const RATE_10: u32 = 429_496_730;

fn preset(name: &str) -> Result<Preset> {
    let amp = 1 << 16; // 1.0 in the default Q.16 signal format
    let p = match name {
        "reference" => Preset {
            desc: image::example_desc(64, 128, 4, true),
            stim: Stimulus { seed: 1, rate: RATE_10, steps: 1000, target: TargetRule::GroupActivity, amplitude: amp },
            input_w: (-28, 30),
            rec_w: (-6, 6),
            out_w: (-8, 8),
            weight_seed: 0xC0FF_EE01,
        },
        "m0" => Preset {
            desc: image::example_desc(16, 32, 2, true),
            stim: Stimulus { seed: 2, rate: RATE_10 * 2, steps: 1000, target: TargetRule::GroupActivity, amplitude: amp },
            input_w: (-16, 40),
            rec_w: (-8, 8),
            out_w: (-8, 8),
            weight_seed: 0xC0FF_EE02,
        },
        "smoke" => Preset {
            desc: image::example_desc(4, 8, 2, true),
            stim: Stimulus { seed: 3, rate: RATE_10 * 3, steps: 100, target: TargetRule::GroupActivity, amplitude: amp },
            input_w: (-16, 48),
            rec_w: (-8, 8),
            out_w: (-8, 8),
            weight_seed: 0xC0FF_EE03,
        },
        other => bail!("unknown preset {other:?} (reference, m0, smoke)"),
    };
    Ok(p)
}

fn uniform(rng: &mut XorShift32, (lo, hi): (i32, i32)) -> Weight {
    let span = (hi - lo + 1) as u64;
    Weight((lo as i64 + ((rng.next_u32() as u64 * span) >> 32) as i64) as i16)
}

/// Encode a preset into bytes.
fn build(p: &Preset) -> Result<Vec<u8>> {
    let d = &p.desc;
    let n = d.neurons as usize;
    let mut rng = XorShift32::new(p.weight_seed);
    let hidden: Vec<Weight> = (0..d.axons() * n)
        .map(|k| uniform(&mut rng, if k / n < d.inputs as usize { p.input_w } else { p.rec_w }))
        .collect();
    let readout: Vec<Weight> = (0..n * d.outputs as usize).map(|_| uniform(&mut rng, p.out_w)).collect();
    let mut buf = vec![0u8; image::encoded_len(d, true).map_err(|e| anyhow!("{e}"))?];
    let len = image::encode(d, &hidden, &readout, Some(&p.stim), &mut buf).map_err(|e| anyhow!("{e}"))?;
    buf.truncate(len);
    Ok(buf)
}

/// Write `bytes` to `path` atomically: temporary file in the same directory, fsync, rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| anyhow!("{} has no file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp.{}", name.to_string_lossy(), std::process::id()));
    let res = (|| -> Result<()> {
        let mut f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
        Ok(())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Run an image on the host through `plasticore-core`. `Net` is sized at compile time, so the host
/// supports the dimensions of the presets (the firmware has the same constraint).
pub fn run_image(bytes: &[u8]) -> Result<RunSummary> {
    let img = Image::parse(bytes).map_err(|e| anyhow!("{e}"))?;
    let d = img.desc().map_err(|e| anyhow!("{e}"))?;
    let stim = img.stimulus().map_err(|e| anyhow!("{e}"))?.ok_or_else(|| anyhow!("image has no stimulus section"))?;
    match (d.axons(), d.neurons, d.outputs, d.states) {
        (192, 128, 4, 1) => run_sized::<192, 128, 4, 1>(&img, stim),
        (48, 32, 2, 1) => run_sized::<48, 32, 2, 1>(&img, stim),
        (12, 8, 2, 1) => run_sized::<12, 8, 2, 1>(&img, stim),
        // Any other size runs as a one-population graph: the same RunSummary (core tests/graph_image.rs).
        _ => graph::run(bytes),
    }
}

fn run_sized<const P: usize, const N: usize, const O: usize, const S: usize>(
    img: &Image<'_>,
    stim: Stimulus,
) -> Result<RunSummary> {
    let mut net: Box<Net<P, N, O, S>> = Box::default();
    img.load(&mut net).map_err(|e| anyhow!("{e}"))?;
    Runner::new(stim).run(&mut net).map_err(|e| anyhow!("{e}"))
}

/// FNV-1a over what both `Net` and the emulator expose: hidden weights, neuron states, ẽ^f, readout weights,
/// outputs and ε^o (`Net::checksum` minus ε^x).
fn state_hash(parts: [&[u8]; 6]) -> u32 {
    let mut h = plasticore_core::checksum::Fnv::new();
    for p in parts {
        h.write(p);
    }
    h.finish()
}

fn le_i16(w: &[Weight]) -> Vec<u8> {
    w.iter().flat_map(|x| x.0.to_le_bytes()).collect()
}
fn le_i32(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
fn le_u16(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Run an image on the host `Net` (`preset` = None) or on the emulator, driven by the same `Runner`
/// stimulus, and describe the outcome as one comparable line.
fn compare_line(bytes: &[u8], preset: Option<&str>) -> Result<String> {
    let img = Image::parse(bytes).map_err(|e| anyhow!("{e}"))?;
    let d = img.desc().map_err(|e| anyhow!("{e}"))?;
    let cfg = d.config().map_err(|e| anyhow!("{e}"))?;
    let stim = img.stimulus().map_err(|e| anyhow!("{e}"))?.ok_or_else(|| anyhow!("image has no stimulus section"))?;
    let hidden: Vec<Weight> = img.hidden_weights(&d).map_err(|e| anyhow!("{e}"))?.collect();
    let readout: Vec<Weight> = img.readout_weights(&d).map_err(|e| anyhow!("{e}"))?.collect();
    let mut run = Runner::new(stim);
    let (summary, hash) = match preset {
        None => match (d.axons(), d.neurons, d.outputs, d.states) {
            (192, 128, 4, 1) => host_compare::<192, 128, 4, 1>(&img, &mut run)?,
            (48, 32, 2, 1) => host_compare::<48, 32, 2, 1>(&img, &mut run)?,
            (12, 8, 2, 1) => host_compare::<12, 8, 2, 1>(&img, &mut run)?,
            (a, n, o, s) => bail!("no host instantiation for {a} axons × {n} neurons × {o} outputs × {s} states"),
        },
        Some(name) => {
            use plasticore_emu::{EmuOptions, Emulator, NetworkSpec, NoObserver, ReadoutSpec};
            let chip = plasticore_emu::presets::preset(name).map_err(|e| anyhow!("{e}"))?;
            let spec = NetworkSpec {
                layer: cfg.layer,
                inputs: d.inputs as usize,
                neurons: d.neurons as usize,
                recurrent: d.recurrent,
                weights: hidden,
                csr: None,
                sparse: false,
                readout: Some(ReadoutSpec { config: cfg.readout, outputs: d.outputs as usize, weights: readout }),
                feedback: cfg.feedback,
                window: cfg.window,
                learn: cfg.learn,
                learn_epoch: 0,
            };
            let opts = EmuOptions { threads: 1, timing: false, strict: false };
            let mut emu = Emulator::new(chip, spec, opts).map_err(|e| anyhow!("emulator: {e}"))?;
            let mut input = vec![0u16; d.inputs as usize];
            let mut values = vec![0i32; d.outputs as usize];
            for t in 0..stim.steps {
                let (n, k) = run.draw(d.inputs as usize, cfg.readout.loss, cfg.feedback, &mut input, &mut values);
                let target = match k {
                    image::StepTarget::None => plasticore_core::readout::Target::None,
                    image::StepTarget::Values => plasticore_core::readout::Target::Values(&values),
                    image::StepTarget::Class(c) => plasticore_core::readout::Target::Class(c),
                };
                let rep = emu
                    .step(plasticore_core::net::Timestep(t), &input[..n], target, &mut NoObserver)
                    .map_err(|e| anyhow!("emulator step {t}: {e}"))?;
                run.record(rep.spikes, rep.loss_q16);
            }
            println!("emulator: chip preset {name}, {} cores used", emu.mapping().cores_used());
            let ro = emu.readout().ok_or_else(|| anyhow!("emulator has no readout"))?;
            let h = state_hash([
                &le_i16(&emu.hidden_weights()),
                &le_i32(&emu.hidden_state()),
                &le_i32(&emu.hidden_etrace()),
                &le_i16(ro.weights()),
                &le_i32(ro.outputs()),
                &le_u16(ro.otrace()),
            ]);
            (run.partial_summary(), h)
        }
    };
    Ok(format!(
        "steps={} trajectory={:08x} spikes={} loss_sum_q16={} state={:08x}",
        summary.steps, summary.trajectory, summary.spikes, summary.loss_sum_q16, hash
    ))
}

fn host_compare<const P: usize, const N: usize, const O: usize, const S: usize>(
    img: &Image<'_>,
    run: &mut Runner,
) -> Result<(RunSummary, u32)> {
    let mut net: Box<Net<P, N, O, S>> = Box::default();
    img.load(&mut net).map_err(|e| anyhow!("{e}"))?;
    let s = run.run(&mut net).map_err(|e| anyhow!("{e}"))?;
    let w = le_i16(net.weights());
    let rw = le_i16(net.readout_weights());
    let out = le_i32(net.outputs());
    let (st, et) = {
        let l = net.layer().map_err(|e| anyhow!("{e}"))?;
        (le_i32(l.state()), le_i32(l.etrace()))
    };
    let ot = le_u16(net.readout().map_err(|e| anyhow!("{e}"))?.otrace());
    Ok((s, state_hash([&w, &st, &et, &rw, &out, &ot])))
}

/// Run `plasticore image`.
pub fn run(a: ImageArgs) -> Result<()> {
    match a.cmd {
        ImageCmd::Write { from_float: Some(path), out, steps, no_learn, weight_bits, lambda, trace_decay, lr_shift, readout_lr_shift, sparse, drop_bias, trace_bits, state_frac, .. } => {
            let lambda = match lambda.as_str() {
                "symmetric" => plasticore_core::graph::LambdaSource::Symmetric,
                "random" => plasticore_core::graph::LambdaSource::RandomFeedback { seed: 0xFEED_0001 },
                "external" => plasticore_core::graph::LambdaSource::External,
                other => bail!("--lambda {other:?}: expected symmetric, random or external"),
            };
            let o = graph::FromFloat {
                weight_bits,
                lambda,
                trace_decay,
                lr_shift: (lr_shift, readout_lr_shift),
                sparse,
                drop_bias,
                learn: !no_learn,
                steps: steps.unwrap_or(1000),
                fracs: None,
                shifts: None,
                trace_bits,
                state_frac,
            };
            let (bytes, note) = graph::build_from_float(&path, &o)?;
            write_atomic(&out, &bytes)?;
            let crc = image::crc32(&bytes[..bytes.len() - 4]);
            println!("wrote {} ({} bytes, graph image version 2, crc32 {crc:08x})", out.display(), bytes.len());
            println!("{note}");
        }
        ImageCmd::Write { preset: Some(name), out, steps, no_learn, .. } if name == "graph2" => {
            let bytes = graph::preset_graph2(steps, !no_learn)?;
            write_atomic(&out, &bytes)?;
            let crc = image::crc32(&bytes[..bytes.len() - 4]);
            println!("wrote {} ({} bytes, graph image version 2, crc32 {crc:08x})", out.display(), bytes.len());
        }
        ImageCmd::Write { preset: name, out, steps, no_learn, .. } => {
            let name = name.ok_or_else(|| anyhow!("give --preset NAME or --from-float FILE"))?;
            let mut p = preset(&name)?;
            if let Some(s) = steps {
                p.stim.steps = s;
            }
            if no_learn {
                p.desc.learn = false;
            }
            let bytes = build(&p)?;
            write_atomic(&out, &bytes)?;
            let crc = Image::parse(&bytes).map_err(|e| anyhow!("{e}"))?.crc();
            println!("wrote {} ({} bytes, crc32 {crc:08x})", out.display(), bytes.len());
        }
        ImageCmd::Info { file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let gimg = GraphImage::parse(&bytes).map_err(|e| anyhow!("{}: {e}", file.display()))?;
            if gimg.version() != image::VERSION {
                let env = gimg.envelope();
                println!("{}: {} bytes, version {}, crc32 {:08x}", file.display(), bytes.len(), gimg.version(), env.crc());
                for i in 0..env.section_count() {
                    let e = env.entry(i);
                    let crit = if e.flags & image::FLAG_CRITICAL != 0 { " critical" } else { "" };
                    println!("  section {i}: kind {} at {} len {}{crit}", e.kind, e.offset, e.len);
                }
                return graph::info(&gimg);
            }
            let img = Image::parse(&bytes).map_err(|e| anyhow!("{}: {e}", file.display()))?;
            println!("{}: {} bytes, version {}, crc32 {:08x}", file.display(), bytes.len(), image::VERSION, img.crc());
            for i in 0..img.section_count() {
                let e = img.entry(i);
                let crit = if e.flags & image::FLAG_CRITICAL != 0 { " critical" } else { "" };
                println!("  section {i}: kind {} at {} len {}{crit}", e.kind, e.offset, e.len);
            }
            let d = img.desc().map_err(|e| anyhow!("{e}"))?;
            println!(
                "  net: {} inputs, {} neurons ({} states), {} outputs, recurrent {}, learn {}, window {}..{}",
                d.inputs, d.neurons, d.states, d.outputs, d.recurrent, d.learn, d.window.start, d.window.end
            );
            println!("  layer: {:?}", d.layer);
            println!("  readout: {:?}, feedback {:?}", d.readout, d.feedback);
            match d.config() {
                Ok(_) => println!("  configuration: valid"),
                Err(e) => println!("  configuration: INVALID: {e}"),
            }
            if let Some(s) = img.stimulus().map_err(|e| anyhow!("{e}"))? {
                println!("  stimulus: {s:?}");
            }
        }
        ImageCmd::Run { file, emulator } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let version = GraphImage::parse(&bytes).map_err(|e| anyhow!("{}: {e}", file.display()))?.version();
            if version != image::VERSION {
                let host = graph::run(&bytes)?;
                println!("{host}");
                if let Some(preset) = emulator {
                    let (emu, mapping) = super::emulate_image::emulator_summary(&bytes, &preset)
                        .with_context(|| format!("{} on the emulator (chip preset {preset})", file.display()))?;
                    println!("emulator: chip preset {preset}; {}", mapping.join("; "));
                    println!("emulator {emu}");
                    if emu.to_string() != host.to_string() {
                        bail!("the emulator differs from the host on {}", file.display());
                    }
                    println!("ok: emulator == host");
                }
                return Ok(());
            }
            println!("{}", run_image(&bytes)?);
            if let Some(preset) = emulator {
                let host = compare_line(&bytes, None)?;
                let emu = compare_line(&bytes, Some(&preset))?;
                println!("host     {host}");
                println!("emulator {emu} (chip preset {preset})");
                if host != emu {
                    bail!("the emulator differs from the host on {}", file.display());
                }
                println!("ok: emulator == host");
            }
        }
    }
    Ok(())
}
