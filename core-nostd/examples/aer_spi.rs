//! Address events from an SPI device into the learning core (`hal` feature).
//!
//! An [`AerSpiReader`] polls one SPI transfer of `K` 4-byte packets per timestep (wire format in
//! `plasticore_core::hal`); the valid events go straight into [`Net::step`]. Malformed packets (bad sync or
//! check byte), packets naming an axon that does not exist and events beyond the list capacity are counted
//! in [`AerStats`] and dropped, never a panic; after a lost or corrupt byte the reader finds the packet
//! framing again ([`AerSync`]). The SPI device is any `embedded_hal::spi::SpiDevice`: on a
//! microcontroller a HAL's SPI peripheral, here `embedded-hal-mock`'s scripted device.
//!
//! Run on the host: `cargo run -p plasticore-core --features hal --example aer_spi`.
//! Tested by `core-nostd/tests/image_aer_spi.rs`.

#[cfg(feature = "hal")]
pub mod aer {
    use embedded_hal::spi::SpiDevice;
    use plasticore_core::hal::{AerSpiReader, AerStats, AerSync};
    use plasticore_core::image::{Image, ImageError};
    use plasticore_core::net::{Net, Timestep, UpdateMode};
    use plasticore_core::readout::Target;

    /// Packets read per SPI transfer (one transfer per timestep).
    pub const K: usize = 4;
    /// The network of `firmware/images/smoke.pcimg`: 4 inputs → 8 recurrent LIF → 2 readouts.
    pub type SmokeNet = Net<12, 8, 2, 1>;

    /// What a run did.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Report {
        /// Timesteps run.
        pub steps: u32,
        /// Adapter counters (valid events, idle, malformed, out of range, overruns).
        pub stats: AerStats,
        /// Framing counters (resynchronisations, skipped and pending bytes).
        pub sync: AerSync,
        /// Hidden spikes over the run.
        pub spikes: u32,
        /// `Net::checksum` at the end.
        pub checksum: u32,
    }

    /// Why a run stopped.
    #[derive(Debug)]
    pub enum Error<E> {
        /// The image was rejected.
        Image(ImageError),
        /// The SPI device failed.
        Spi(E),
    }

    impl<E: core::fmt::Debug> core::fmt::Display for Error<E> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            match self {
                Error::Image(e) => write!(f, "image: {e}"),
                Error::Spi(e) => write!(f, "SPI: {e:?}"),
            }
        }
    }

    /// Load `image` into `net`, then for `steps` timesteps read one SPI transfer of `K` packets and step
    /// the network with the valid events (inference: no target). Returns the report and the SPI device.
    pub fn run<SPI: SpiDevice<u8>>(
        spi: SPI,
        image: &[u8],
        net: &mut SmokeNet,
        steps: u32,
    ) -> Result<(Report, SPI), Error<SPI::Error>> {
        let img = Image::parse(image).map_err(Error::Image)?;
        img.load(net).map_err(Error::Image)?;
        let axons = net.external_inputs() as u16;
        let mut reader: AerSpiReader<SPI, K> = AerSpiReader::new(spi, axons);
        let mut spikes = 0u32;
        for t in 0..steps {
            // A poll completes at most K + 1 packets (bytes held from the previous poll).
            let mut events = heapless::Vec::<u16, { K + 1 }>::new();
            reader.poll(&mut events).map_err(Error::Spi)?;
            let rep = net
                .step(Timestep(t), &events, Target::None, UpdateMode::Online)
                .map_err(|e| Error::Image(ImageError::Config(e)))?;
            spikes = spikes.saturating_add(rep.ops.spikes);
        }
        let report = Report { steps, stats: reader.stats(), sync: reader.sync(), spikes, checksum: net.checksum() };
        Ok((report, reader.release()))
    }
}

#[cfg(feature = "hal")]
#[allow(dead_code)] // `main` is unused when the test includes this file as a module.
fn main() {
    use embedded_hal_mock::eh1::spi::{Mock, Transaction};
    use plasticore_core::hal::encode;

    // A scripted SPI device: per step one transfer of 4 packets, with an idle filler, a corrupted packet
    // and an event for a non-existent axon mixed in.
    let steps = 8u32;
    let mut script = Vec::new();
    for t in 0..steps as u16 {
        let mut bytes = Vec::new();
        bytes.extend(encode(t % 4));
        bytes.extend(if t % 3 == 0 { [0, 0, 0, 0] } else { encode((t + 1) % 4) });
        bytes.extend(if t % 2 == 0 { [0xA5, 0, 1, 0x00] } else { encode(2) }); // bad check byte on even t
        bytes.extend(encode(if t == 5 { 9 } else { 3 })); // axon 9 does not exist
        script.push(Transaction::transaction_start());
        script.push(Transaction::read_vec(bytes));
        script.push(Transaction::transaction_end());
    }
    let mut net: Box<aer::SmokeNet> = Box::default();
    let image = include_bytes!("../../firmware/images/smoke.pcimg");
    match aer::run(Mock::new(&script), image, &mut net, steps) {
        Ok((r, mut spi)) => {
            spi.done();
            println!("{r:?}");
        }
        Err(e) => {
            eprintln!("aer_spi: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(not(feature = "hal"))]
fn main() {
    eprintln!("aer_spi needs the `hal` feature: cargo run -p plasticore-core --features hal --example aer_spi");
    std::process::exit(2);
}
