//! Where the network runs: the CPU, always built, or a GPU through a backend
//! compiled in with a cargo feature (`cuda`, `wgpu`).
//!
//! Every build knows every [`ComputeDevice`], so a program names the same
//! devices whatever the features; asking for one whose backend was not
//! compiled in is an [`Error::Device`] that says how to rebuild.
//! [`ComputeDevice::best_available`] picks the fastest one present.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::error::{Error, Result};

/// A device to run the network on; see [`crate::Stylizer::with_device`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ComputeDevice {
    /// The CPU (on all cores, or the pool of
    /// [`crate::Stylizer::with_threads`]), on stylize's own engine
    /// ([`crate::Engine::Fast`], the default) or burn's `flex` backend
    /// ([`crate::Engine::Burn`]). Always available.
    #[default]
    Cpu,
    /// The NVIDIA GPU of this index (0: the first), on burn's CUDA backend.
    /// Needs the `cuda` feature at build time and the NVIDIA driver at run
    /// time (`libcuda` is loaded then; no CUDA toolkit is needed).
    Cuda(usize),
    /// The GPU wgpu prefers (a discrete one first) on the graphics API it
    /// settles on: Vulkan on Linux (OpenGL through EGL where there is no
    /// Vulkan driver), Metal on macOS, DirectX 12 or Vulkan on Windows.
    /// Needs the `wgpu` feature. `auto` never picks a software
    /// rasterizer (llvmpipe, lavapipe): the CPU backend is faster; asked for
    /// by name, one is used when it is the only adapter, with a warning.
    Wgpu,
}

impl ComputeDevice {
    /// Whether this build has the device's backend (the CPU's always).
    pub const fn is_compiled(self) -> bool {
        match self {
            ComputeDevice::Cpu => true,
            ComputeDevice::Cuda(_) => cfg!(feature = "cuda"),
            ComputeDevice::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The burn backend behind the device: `flex`, `cuda` or `wgpu`.
    pub const fn backend(self) -> &'static str {
        match self {
            ComputeDevice::Cpu => "flex",
            ComputeDevice::Cuda(_) => "cuda",
            ComputeDevice::Wgpu => "wgpu",
        }
    }

    /// The fastest device present: the first CUDA GPU if this build has the
    /// `cuda` feature and the driver lists one, else a wgpu GPU adapter if
    /// it has the `wgpu` feature and one exists, else the CPU. Starts no
    /// device and does not panic where a driver is missing.
    pub fn best_available() -> Self {
        if cuda_devices() > 0 {
            ComputeDevice::Cuda(0)
        } else if wgpu_has_gpu() {
            ComputeDevice::Wgpu
        } else {
            ComputeDevice::Cpu
        }
    }

    /// Checks that the device is compiled in and present, without starting
    /// it (what [`crate::Stylizer::with_device`] checks first).
    ///
    /// # Errors
    /// [`Error::Device`] when the backend was not compiled in (saying how
    /// to rebuild) or the device is not there.
    pub fn check(self) -> Result<()> {
        match self {
            ComputeDevice::Cpu => Ok(()),
            ComputeDevice::Cuda(index) => {
                if !self.is_compiled() {
                    return Err(not_compiled("cuda"));
                }
                match cuda_devices() {
                    0 => Err(Error::device(
                        "no CUDA device found: is the NVIDIA driver installed? \
                         (`nvidia-smi` lists the GPUs)",
                    )),
                    n if index >= n => Err(Error::device(format!(
                        "no CUDA device {index}: found {n} (cuda:0 to cuda:{})",
                        n - 1
                    ))),
                    _ => Ok(()),
                }
            }
            ComputeDevice::Wgpu => {
                if !self.is_compiled() {
                    return Err(not_compiled("wgpu"));
                }
                match wgpu_adapters() {
                    Adapters::None => Err(Error::device(
                        "wgpu found no adapter: no Vulkan, Metal, DirectX 12 or OpenGL (EGL) \
                         driver. On Linux, `apt-get install mesa-vulkan-drivers` gives a software \
                         Vulkan (lavapipe, slow); or use the CPU",
                    )),
                    // `burn_device` warns about a software adapter: it
                    // runs once per engine, `check` also before it.
                    Adapters::SoftwareOnly | Adapters::Hardware => Ok(()),
                }
            }
        }
    }

    /// The burn device, with autodiff, after [`Self::check`].
    pub(crate) fn burn_device(self) -> Result<Device> {
        self.check()?;
        let device = match self {
            ComputeDevice::Cpu => Device::flex(),
            #[cfg(feature = "cuda")]
            ComputeDevice::Cuda(index) => Device::cuda(index),
            // A software adapter only when it is all there is.
            #[cfg(feature = "wgpu")]
            ComputeDevice::Wgpu => Device::wgpu(match wgpu_adapters() {
                Adapters::Hardware => burn::tensor::DeviceKind::DefaultDevice,
                _ => {
                    log::warn!(
                        "wgpu found only a software adapter (a CPU emulation of a GPU, \
                         such as lavapipe): it works, far slower than the CPU"
                    );
                    burn::tensor::DeviceKind::Cpu
                }
            }),
            // `check` refused the backends not compiled in.
            #[allow(unreachable_patterns)]
            _ => return Err(not_compiled(self.backend())),
        };
        Ok(device.autodiff())
    }
}

impl fmt::Display for ComputeDevice {
    /// `cpu`, `cuda:N` or `wgpu`, as [`FromStr`] reads them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComputeDevice::Cpu => f.write_str("cpu"),
            ComputeDevice::Cuda(index) => write!(f, "cuda:{index}"),
            ComputeDevice::Wgpu => f.write_str("wgpu"),
        }
    }
}

impl FromStr for ComputeDevice {
    type Err = Error;

    /// `cpu`, `cuda` (the first GPU), `cuda:N` or `wgpu`, in any case.
    /// Whether the device is compiled in is [`ComputeDevice::check`]'s
    /// question, not this one's.
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "cpu" => Ok(ComputeDevice::Cpu),
            "cuda" => Ok(ComputeDevice::Cuda(0)),
            "wgpu" => Ok(ComputeDevice::Wgpu),
            _ => lower
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(ComputeDevice::Cuda)
                .ok_or_else(|| {
                    Error::parameter("device", format!("`{s}` is not cpu, cuda, cuda:N or wgpu"))
                }),
        }
    }
}

fn not_compiled(feature: &str) -> Error {
    Error::device(format!(
        "stylize was built without the `{feature}` feature; rebuild with \
         `cargo build --release --features {feature}`"
    ))
}

/// The number of CUDA devices the driver lists; 0 without the `cuda`
/// feature or the driver.
fn cuda_devices() -> usize {
    #[cfg(feature = "cuda")]
    {
        use burn::tensor::DeviceType;
        // cubecl checks that libcuda loads before asking it; the guard is
        // for a driver that misbehaves all the same.
        guarded(|| Device::enumerate(DeviceType::Cuda).len()).unwrap_or(0)
    }
    #[cfg(not(feature = "cuda"))]
    0
}

/// What wgpu finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))] // only wgpu finds any
enum Adapters {
    /// Nothing (or no `wgpu` feature).
    None,
    /// Only a software rasterizer (lavapipe, llvmpipe, WARP).
    SoftwareOnly,
    /// A GPU.
    Hardware,
}

fn wgpu_adapters() -> Adapters {
    #[cfg(feature = "wgpu")]
    {
        use burn::tensor::{DeviceKind, DeviceType};
        guarded(|| {
            let software = Device::wgpu(DeviceKind::Cpu);
            let all = Device::enumerate(DeviceType::Wgpu);
            if all.iter().any(|d| *d != software) {
                Adapters::Hardware
            } else if all.is_empty() {
                Adapters::None
            } else {
                Adapters::SoftwareOnly
            }
        })
        .unwrap_or(Adapters::None)
    }
    #[cfg(not(feature = "wgpu"))]
    Adapters::None
}

/// Whether wgpu finds an adapter other than a software rasterizer (what
/// `auto` may pick); false without the `wgpu` feature.
fn wgpu_has_gpu() -> bool {
    wgpu_adapters() == Adapters::Hardware
}

/// Runs `f`, turning a panic (a GPU runtime's way of failing) into an
/// [`Error::Device`] with the panic's message.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the backend panicked".to_string());
        Error::device(message)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_read_back() {
        for d in [
            ComputeDevice::Cpu,
            ComputeDevice::Cuda(0),
            ComputeDevice::Cuda(3),
            ComputeDevice::Wgpu,
        ] {
            assert_eq!(d.to_string().parse::<ComputeDevice>().unwrap(), d);
        }
        assert_eq!(
            "CUDA".parse::<ComputeDevice>().unwrap(),
            ComputeDevice::Cuda(0)
        );
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1", ""] {
            let e = bad.parse::<ComputeDevice>().unwrap_err().to_string();
            assert!(e.contains("cpu, cuda, cuda:N or wgpu"), "{bad}: {e}");
        }
    }

    #[test]
    fn cpu_is_always_there() {
        assert!(ComputeDevice::Cpu.is_compiled());
        ComputeDevice::Cpu.check().unwrap();
        assert!(ComputeDevice::Cpu.burn_device().unwrap().is_autodiff());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_rebuild() {
        assert!(!ComputeDevice::Cuda(0).is_compiled());
        let e = ComputeDevice::Cuda(0).check().unwrap_err();
        assert!(matches!(e, Error::Device { .. }));
        assert!(
            e.to_string().contains(
                "built without the `cuda` feature; rebuild with \
                 `cargo build --release --features cuda`"
            ),
            "{e}"
        );
        assert!(ComputeDevice::Cuda(1).burn_device().is_err());
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn wgpu_without_the_feature_says_how_to_rebuild() {
        let e = ComputeDevice::Wgpu.check().unwrap_err();
        assert!(e.to_string().contains("--features wgpu"), "{e}");
    }

    #[cfg(not(any(feature = "cuda", feature = "wgpu")))]
    #[test]
    fn a_cpu_build_picks_the_cpu() {
        assert_eq!(ComputeDevice::best_available(), ComputeDevice::Cpu);
    }

    #[test]
    fn best_available_is_usable() {
        // Whatever the build and machine, the pick passes its own check.
        ComputeDevice::best_available().check().unwrap();
    }

    #[test]
    fn a_panic_becomes_a_device_error() {
        // (The default hook prints the panic; the test only looks at the
        // error.)
        let e = guarded(|| -> usize { panic!("no driver {}", 7) }).unwrap_err();
        assert_eq!(e.to_string(), "compute device: no driver 7");
    }
}
