"""The processor architecture (GPU generation) of a catalog device, in one place.

The calibration pools compute efficiencies across devices (:mod:`.pooling`): devices of one
architecture share their SM design, tensor-core generation and compiler back end, so their
fractions of the per-operator roofline differ less than devices of different generations.
:data:`ARCHITECTURES` names the architecture of every catalog device (vendor whitepapers /
datasheets: Kepler GK110/GK210, Maxwell GM200/GM204, Pascal GP100/GP102/GP104, Volta GV100,
Turing TU102/TU104, Ampere GA100/GA102/GA10x, Ada AD102/AD104, Hopper GH100, Blackwell GB100/GB102,
AMD CDNA 1–4, Google TPU v2–v6e, Intel Gaudi / CPU families); a device not in the table (a
user's ``Device``) takes its ``architecture`` attribute when it has one, else its name.
"""
from __future__ import annotations

__all__ = ["ARCHITECTURES", "DIES", "architecture_of", "die_of"]

_BY_ARCH = {
    "Kepler": ("K40", "K80", "K80 board"),
    "Maxwell": ("M40", "M60"),
    "Pascal": ("P100", "P100-PCIe", "P100-PCIe-12GB", "P40", "P4", "GTX 1070", "GTX 1080 Ti"),
    "Volta": ("V100", "V100-32GB", "V100-PCIe", "V100-PCIe-32GB", "V100S-PCIe", "Titan V",
              "Jetson AGX Xavier"),
    "Turing": ("T4", "RTX 2080 Ti"),
    "Ampere": ("A100", "A100-80GB", "A100-PCIe", "A100-PCIe-80GB", "A10", "A30", "A40",
               "RTX 3060 Laptop", "RTX 3090", "Jetson AGX Orin"),
    "Ada": ("RTX 4090", "RTX 6000 Ada", "L4", "L40", "L40S"),
    "Hopper": ("H100", "H100-PCIe", "H100 NVL", "H200", "H800", "H20"),
    "Blackwell": ("B200", "B300", "GB200", "GB300"),
    "CDNA1": ("MI100",),
    "CDNA2": ("MI210", "MI250X", "MI250X GCD", "MI250", "MI250 GCD"),
    "CDNA3": ("MI300X", "MI325X"),
    "CDNA4": ("MI355X",),
    "TPU v2": ("TPU2", "TPU2 chip"),
    "TPU v3": ("TPU3", "TPU3 chip"),
    "TPU v4": ("TPU4", "TPU4 chip"),
    "TPU v5": ("TPU5e chip", "TPU5p chip"),
    "TPU v6": ("TPU6e chip",),
    "Gaudi": ("Gaudi2", "Gaudi3"),
    "Knights Landing": ("Xeon Phi", "Xeon Phi 7250"),
    "x86 CPU": ("Xeon Gold 6148", "x86-64 core (AVX2)", "EPYC 7763", "Xeon Platinum 8380"),
}

#: Catalog device name -> architecture (GPU generation, TPU version, CPU family).
ARCHITECTURES = {dev: arch for arch, devs in _BY_ARCH.items() for dev in devs}

#: Year each architecture's first product launched (vendor announcements): the coordinate
#: along which architecture deviations are correlated (:func:`.pooling.correlated_deviation`:
#: neighbouring generations share SM designs, libraries and compilers).
ARCHITECTURE_YEAR = {
    "Kepler": 2012, "Maxwell": 2014, "Pascal": 2016, "Volta": 2017, "Turing": 2018, "Ampere": 2020,
    "Ada": 2022, "Hopper": 2022, "Blackwell": 2024, "CDNA1": 2020, "CDNA2": 2021, "CDNA3": 2023,
    "CDNA4": 2025, "TPU v2": 2017, "TPU v3": 2018, "TPU v4": 2021, "TPU v5": 2023, "TPU v6": 2024,
    "Gaudi": 2022, "Knights Landing": 2016, "x86 CPU": 2017,
}


def architecture_year(device) -> float:
    """Launch year of ``device``'s architecture (:data:`ARCHITECTURE_YEAR`), NaN if unknown.

    Examples
    --------
    >>> architecture_year("T4"), architecture_year("MyGPU")
    (2018, nan)
    """
    return ARCHITECTURE_YEAR.get(architecture_of(device), float("nan"))


def architecture_of(device) -> str | None:
    """The architecture of ``device`` (a catalog name or a ``Device``).

    Parameters
    ----------
    device : str or Device or None

    Returns
    -------
    str or None
        :data:`ARCHITECTURES`' entry; else the device's ``architecture`` attribute; else its
        name (an unknown device is an architecture of its own); None for None.

    Examples
    --------
    >>> architecture_of("V100-PCIe"), architecture_of("H100"), architecture_of("MyGPU")
    ('Volta', 'Hopper', 'MyGPU')
    """
    if device is None:
        return None
    name = device if isinstance(device, str) else getattr(device, "name", None)
    if name in ARCHITECTURES:
        return ARCHITECTURES[name]
    arch = getattr(device, "architecture", None)
    return str(arch) if arch else name


#: Catalog devices that carry the same GPU die (the same SMs, tensor cores, caches and
#: kernels; the boards differ in clocks, power cap, memory and links, which the catalog's
#: peaks, bandwidths and the power-cap ratio already carry). A device with no group of its
#: own is answered first from a fitted device of its die (NVIDIA architecture whitepapers:
#: GV100 (Tesla V100, 2017), GA100 (A100, 2020), GH100 (H100, 2022), GP100 (Tesla P100,
#: 2016), GK210 (Tesla K80), TU104 (T4), GA102 (A10/A40/RTX 3090), AD102 (L40/L40S/RTX 4090/
#: RTX 6000 Ada); AMD CDNA whitepapers: Aldebaran (MI210/MI250/MI250X), Aqua Vanjaram (MI300X/MI325X)).
_BY_DIE = {
    "GK210": ("K80", "K80 board"),
    "GP100": ("P100", "P100-PCIe", "P100-PCIe-12GB"),
    "GV100": ("V100", "V100-32GB", "V100-PCIe", "V100-PCIe-32GB", "V100S-PCIe", "Titan V"),
    "TU104": ("T4",),
    "GA100": ("A100", "A100-80GB", "A100-PCIe", "A100-PCIe-80GB", "A30"),
    "GA102": ("A10", "A40", "RTX 3090"),
    "AD102": ("RTX 4090", "RTX 6000 Ada", "L40", "L40S"),
    "GH100": ("H100", "H100-PCIe", "H100 NVL", "H200", "H800", "H20"),
    "GB100": ("B200", "B300", "GB200", "GB300"),
    "Aldebaran": ("MI210", "MI250X", "MI250X GCD", "MI250", "MI250 GCD"),
    "Aqua Vanjaram": ("MI300X", "MI325X"),
}

#: Catalog device name -> its GPU die (:data:`_BY_DIE`).
DIES = {dev: die for die, devs in _BY_DIE.items() for dev in devs}


def die_of(device) -> str | None:
    """The GPU die of ``device`` (a catalog name or a ``Device``), None when not known.

    Examples
    --------
    >>> die_of("V100-PCIe"), die_of("H800"), die_of("MyGPU")
    ('GV100', 'GH100', None)
    """
    if device is None:
        return None
    name = device if isinstance(device, str) else getattr(device, "name", None)
    return DIES.get(name)
