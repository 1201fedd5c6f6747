//! [`Graph`]: a graph whose pooled storage is sized at compile time (usable in a `static`), dense
//! connectivity. Its [`Graph::view`] is the same [`GraphMut`] an emulator builds over its own storage.

use super::run::{GraphBuffers, GraphMut, GraphScalars, PoolBuffers};
use super::{GraphConfig, Layout, MAX_DELAY, MAX_POPULATIONS};
use crate::error::{check_range, ConfigError, Field};
use crate::format::{Weight, WeightStore};
use crate::layer::{LayerScalars, Saturations};
use crate::neuron::{NeuronParams, ParamSlot};
use crate::readout::ReadoutBuffers;

const ZERO_SCALARS: LayerScalars = LayerScalars {
    sat: Saturations { state: 0, xtrace: 0, etrace: 0, weight: 0, grad: 0, dropped_events: 0 },
    updates: 0,
};
const HIST_COUNTS: usize = (MAX_DELAY as usize + 1) * (1 + MAX_POPULATIONS);

/// A graph with pooled storage of at most `NEU` neurons in all, `ST` neuron-state entries (Σ neurons ×
/// states), `AX` axons (Σ over populations of their incoming projections' widths), `W` weights (dense:
/// Σ axons × neurons per population), `O` readout outputs and `H` spike-history entries
/// ((longest delay + 1) × (inputs + NEU)), and `PN` per-neuron parameter slots (Σ neurons of the
/// populations with [`super::ParamMode::PerNeuron`], 32 bytes each; default 0, so a graph without
/// per-neuron parameters spends no memory on them). `WS` is the weight storage: [`Weight`] (2 bytes per
/// synapse, the default) or [`crate::format::Weight8`] (1 byte per synapse; every population's
/// `weight_bits` ≤ 8, the same bits as 16-bit storage of the same mantissas). `PS` is the number of
/// axons with STD/STP state (12 bytes each: two state words and an efficacy; [`Layout::presyn`], the
/// axons of projections with STD/STP; default 0, so a graph without STD/STP spends nothing on it).
/// [`Graph::configure`] checks that a configuration fits.
pub struct Graph<
    const NEU: usize,
    const ST: usize,
    const AX: usize,
    const W: usize,
    const O: usize,
    const H: usize,
    const PN: usize = 0,
    WS: WeightStore = Weight,
    const PS: usize = 0,
> {
    cfg: heapless::Vec<GraphConfig, 1>,
    lay: heapless::Vec<Layout, 1>,
    weights: [WS; W],
    state: [i32; ST],
    etrace: [i32; ST],
    xtrace: [u16; AX],
    presyn: [[i32; 2]; PS],
    efficacy: [i32; PS],
    acc: [i32; NEU],
    psi: [i32; NEU],
    grad: [i64; NEU],
    fb: [i32; NEU],
    bias: [i32; NEU],
    params: [ParamSlot; PN],
    scalars: [LayerScalars; MAX_POPULATIONS],
    ro_weights: [[Weight; O]; NEU],
    ro_r: [i32; O],
    ro_otrace: [u16; NEU],
    ro_err: [i32; O],
    ro_grad: [i64; O],
    ro_sat: Saturations,
    ro_updates: u32,
    hist: [u16; H],
    hist_count: [u16; HIST_COUNTS],
    active: [u16; AX],
    spikes: [u16; NEU],
    delta: [i32; NEU],
    gs: GraphScalars,
}

impl<const NEU: usize, const ST: usize, const AX: usize, const W: usize, const O: usize, const H: usize, const PN: usize, WS: WeightStore, const PS: usize>
    Default for Graph<NEU, ST, AX, W, O, H, PN, WS, PS>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<const NEU: usize, const ST: usize, const AX: usize, const W: usize, const O: usize, const H: usize, const PN: usize, WS: WeightStore, const PS: usize>
    Graph<NEU, ST, AX, W, O, H, PN, WS, PS>
{
    /// An unconfigured, zeroed graph (all-zero bytes: a `static` of it lands in `.bss`).
    pub const fn new() -> Self {
        Graph {
            cfg: heapless::Vec::new(),
            lay: heapless::Vec::new(),
            weights: [WS::ZERO; W],
            state: [0; ST],
            etrace: [0; ST],
            xtrace: [0; AX],
            presyn: [[0; 2]; PS],
            efficacy: [0; PS],
            acc: [0; NEU],
            psi: [0; NEU],
            grad: [0; NEU],
            fb: [0; NEU],
            bias: [0; NEU],
            params: [ParamSlot::EMPTY; PN],
            scalars: [ZERO_SCALARS; MAX_POPULATIONS],
            ro_weights: [[Weight(0); O]; NEU],
            ro_r: [0; O],
            ro_otrace: [0; NEU],
            ro_err: [0; O],
            ro_grad: [0; O],
            ro_sat: Saturations { state: 0, xtrace: 0, etrace: 0, weight: 0, grad: 0, dropped_events: 0 },
            ro_updates: 0,
            hist: [0; H],
            hist_count: [0; HIST_COUNTS],
            active: [0; AX],
            spikes: [0; NEU],
            delta: [0; NEU],
            gs: GraphScalars { head: 0, dropped: 0 },
        }
    }

    /// Validate `cfg` (dense connectivity), check that it fits the capacities, store it and reset all
    /// state and counters (weights are kept). On error nothing changes.
    pub fn configure(&mut self, cfg: GraphConfig) -> Result<(), ConfigError> {
        let lay = cfg.layout(&[])?;
        let fits = |field: Field, need: usize, have: usize| check_range(field, need as i64, 0, have as i64);
        fits(Field::Neurons, lay.neurons, NEU)?;
        fits(Field::States, lay.states, ST)?;
        fits(Field::Axons, lay.axons, AX)?;
        fits(Field::Weight, lay.weights, W)?;
        fits(Field::Outputs, cfg.readout.outputs as usize, O)?;
        fits(Field::Buffer, lay.hist_len(), H)?;
        fits(Field::Neurons, lay.param_slots, PN)?;
        fits(Field::PresynAxons, lay.presyn, PS)?;
        for pop in &cfg.populations {
            check_range(Field::WeightBits, pop.layer.formats.weight_bits as i64, 2, WS::BITS as i64)?;
        }
        self.cfg.clear();
        self.lay.clear();
        // A fresh start: the learning-step counters (which seed stochastic rounding) and the chip-effect
        // counters restart, so a graph configured after a run draws the same random words as a new one.
        self.scalars = [ZERO_SCALARS; MAX_POPULATIONS];
        self.ro_sat = ZERO_SCALARS.sat;
        self.ro_updates = 0;
        self.gs = GraphScalars { head: 0, dropped: 0 };
        // Per-neuron parameters start at the population's scalar values (built once per population: the
        // scalars passed their constructor in `layout`, so this cannot fail; an error keeps the slots).
        for (pop, l) in cfg.populations.iter().zip(&lay.pops) {
            if pop.params == super::ParamMode::PerNeuron {
                if let Ok(s) = ParamSlot::new(&pop.layer, NeuronParams::of(&pop.layer.neuron)) {
                    self.params[l.param_off..l.param_off + l.neurons].fill(s);
                }
            }
        }
        // Capacity 1 and just cleared: neither push can fail.
        let _ = self.cfg.push(cfg);
        let _ = self.lay.push(lay);
        if let Ok(mut g) = self.view() {
            g.reset_state();
        }
        Ok(())
    }

    /// The loaded configuration.
    pub fn config(&self) -> Option<&GraphConfig> {
        self.cfg.first()
    }

    /// Set weight (`axon`, `neuron`) of population `p` (axons in the population's layout: plastic
    /// projections' blocks first, see [`crate::graph`]).
    pub fn set_weight(&mut self, p: usize, axon: usize, neuron: usize, w: Weight) -> Result<(), ConfigError> {
        let (cfg, lay) = match (self.cfg.first(), self.lay.first()) {
            (Some(c), Some(l)) => (c, l),
            _ => return Err(ConfigError::NotConfigured),
        };
        check_range(Field::Population, p as i64, 0, lay.populations as i64 - 1)?;
        let l = lay.pops[p];
        check_range(Field::Axons, axon as i64, 0, l.axons as i64 - 1)?;
        check_range(Field::Neurons, neuron as i64, 0, l.neurons as i64 - 1)?;
        let max = cfg.populations[p].layer.formats.weight_max() as i64;
        check_range(Field::Weight, w.0 as i64, -max, max)?;
        self.weights[l.weight_off + axon * l.neurons + neuron] = WS::from_clamped(w.0 as i32);
        Ok(())
    }

    /// Set the bias of `neuron` in population `p` (units: [`crate::layer::LayerMut::set_bias`]); the
    /// population must have a bias.
    pub fn set_bias(&mut self, p: usize, neuron: usize, b: i32) -> Result<(), ConfigError> {
        let lay = self.lay.first().ok_or(ConfigError::NotConfigured)?;
        check_range(Field::Population, p as i64, 0, lay.populations as i64 - 1)?;
        let l = lay.pops[p];
        if l.bias == super::BiasMode::None {
            return Err(ConfigError::Unsupported { field: Field::Population });
        }
        check_range(Field::Neurons, neuron as i64, 0, l.neurons as i64 - 1)?;
        self.bias[l.neuron_off + neuron] = b;
        Ok(())
    }

    /// Set the threshold and decays of `neuron` in population `p` (units: [`crate::neuron::params`]),
    /// validated for the population's model and formats; the population must have
    /// [`super::ParamMode::PerNeuron`]. On error nothing changes.
    pub fn set_neuron_params(&mut self, p: usize, neuron: usize, v: NeuronParams) -> Result<(), ConfigError> {
        let (cfg, lay) = match (self.cfg.first(), self.lay.first()) {
            (Some(c), Some(l)) => (c, l),
            _ => return Err(ConfigError::NotConfigured),
        };
        check_range(Field::Population, p as i64, 0, lay.populations as i64 - 1)?;
        let l = lay.pops[p];
        if l.params != super::ParamMode::PerNeuron {
            return Err(ConfigError::Unsupported { field: Field::Population });
        }
        check_range(Field::Neurons, neuron as i64, 0, l.neurons as i64 - 1)?;
        self.params[l.param_off + neuron] = ParamSlot::new(&cfg.populations[p].layer, v)?;
        Ok(())
    }

    /// Set readout weight (`neuron` of the readout's population → `output`).
    pub fn set_readout_weight(&mut self, neuron: usize, output: usize, w: Weight) -> Result<(), ConfigError> {
        let (cfg, lay) = match (self.cfg.first(), self.lay.first()) {
            (Some(c), Some(l)) => (c, l),
            _ => return Err(ConfigError::NotConfigured),
        };
        let n = lay.pops[cfg.readout.source as usize].neurons;
        let o = cfg.readout.outputs as usize;
        check_range(Field::Neurons, neuron as i64, 0, n as i64 - 1)?;
        check_range(Field::Outputs, output as i64, 0, o as i64 - 1)?;
        let max = cfg.readout.config.formats.weight_max() as i64;
        check_range(Field::Weight, w.0 as i64, -max, max)?;
        self.ro_weights.as_flattened_mut()[neuron * o + output] = w;
        Ok(())
    }

    /// The datapath over this graph's storage (fails only if it was never configured).
    pub fn view(&mut self) -> Result<GraphMut<'_, WS>, ConfigError> {
        let (cfg, lay) = match (self.cfg.first(), self.lay.first()) {
            (Some(c), Some(l)) => (c, *l),
            _ => return Err(ConfigError::NotConfigured),
        };
        let n_ro = lay.pops[cfg.readout.source as usize].neurons;
        let o = cfg.readout.outputs as usize;
        let b = GraphBuffers {
            pool: PoolBuffers {
                weights: &mut self.weights[..lay.weights],
                state: &mut self.state[..lay.states],
                etrace: &mut self.etrace[..lay.states],
                xtrace: &mut self.xtrace[..lay.axons],
                presyn: &mut self.presyn[..lay.presyn],
                efficacy: &mut self.efficacy[..lay.presyn],
                acc: &mut self.acc[..lay.neurons],
                psi: &mut self.psi[..lay.neurons],
                grad: &mut self.grad[..lay.neurons],
                bias: &mut self.bias[..lay.neurons],
                params: &mut self.params[..lay.param_slots],
                scalars: &mut self.scalars[..lay.populations],
            },
            readout: ReadoutBuffers {
                weights: &mut self.ro_weights.as_flattened_mut()[..n_ro * o],
                r: &mut self.ro_r[..o],
                otrace: &mut self.ro_otrace[..n_ro],
                err: &mut self.ro_err[..o],
                grad: &mut self.ro_grad[..o],
                sat: &mut self.ro_sat,
                updates: &mut self.ro_updates,
            },
            fb: &mut self.fb[..lay.neurons],
            hist: &mut self.hist[..lay.hist_len()],
            hist_count: &mut self.hist_count[..lay.hist_counts()],
            active: &mut self.active[..lay.max_axons],
            spikes: &mut self.spikes[..lay.max_neurons],
            delta: &mut self.delta[..lay.max_neurons],
            scalars: &mut self.gs,
        };
        GraphMut::new(cfg, &[], b)
    }
}
