"""Every finding code, triggered by realistic evidence (texts as the tools really print them).

Each case changes a healthy machine in one way and states the code, its severity, a piece of the
machine-specific fix, and a piece of the evidence that must be quoted back.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.doctor.builders import by_code, healthy_linux, healthy_windows, merge, run
from tests.doctor.test_doctor_rocm import CASES as ROCM_CASES
from tests.doctor.test_doctor_server import CASES as SERVER_CASES

WIN_VENV_PY = "C:\\Users\\藤澤\\lab\\.venv\\Scripts\\python.exe"
TF_DLOPEN = (
    "W0000 00:00:1712345678.123456    1234 gpu_device.cc:2251] Cannot dlopen some GPU libraries. Please make sure the "
    "missing libraries mentioned above are installed properly if you would like to use GPU. Follow the guide at "
    "https://www.tensorflow.org/install/gpu for how to download and setup the required libraries for your platform.\n"
    "Skipping registering GPU devices..."
)


def tf(version: str, **kw: Any) -> dict[str, Any]:
    base = {"version": version, "package": "tensorflow", "is_cuda_build": True, "cuda_available": True, "arch_list": []}
    base.update(kw)
    return base


def log(text: str, source: str = "pip.txt") -> list[dict[str, str]]:
    return [{"text": text, "source": source}]


RTX5090 = [{"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce RTX 5090", "compute_capability": "12.0"}]
GTX1080TI = [{"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce GTX 1080 Ti", "compute_capability": "6.1",
              "uuid": "GPU-bb22cc33-dd44-ee55-ff66-001122334455"}]
DRIVER_570 = {"version": "570.86.16", "cuda_version": "12.8", "userspace_version": "570.86.16",
              "kernel_module": {"loaded": True, "version": "570.86.16", "flavor": "open"}}

# (id, base, patch, code, severity, fix contains, evidence contains)
CASES: list[tuple[str, str, dict[str, Any], str, str, str, str]] = [
    ("cpu_only_wheel-windows-torch", "windows",
     {"frameworks": {"torch": {"version": "2.5.1+cpu", "cuda": None, "cudnn": None, "is_cuda_build": False,
                               "cuda_available": False, "arch_list": [], "kernel_ok": None}}},
     "cpu_only_wheel", "error", "install --force-reinstall torch==2.5.1 --index-url https://download.pytorch.org/whl/cu124",
     "torch 2.5.1+cpu: built without CUDA"),
    ("cpu_only_wheel-torch-assertion", "linux",
     {"frameworks": {"torch": {"version": "2.5.1", "cuda": None, "is_cuda_build": None, "cuda_available": False,
                               "arch_list": [], "kernel_ok": None,
                               "error": "AssertionError: Torch not compiled with CUDA enabled"}}},
     "cpu_only_wheel", "error", "--index-url https://download.pytorch.org/whl/cu124",
     "AssertionError: Torch not compiled with CUDA enabled"),
    ("cpu_only_wheel-tensorflow-cpu", "linux",
     {"frameworks": {"tensorflow": tf("2.16.1", package="tensorflow-cpu", is_cuda_build=False, cuda_available=False)}},
     "cpu_only_wheel", "error", 'uninstall -y tensorflow-cpu && /home/lab/venv/bin/python -m pip install "tensorflow[and-cuda]==2.16.1"',
     "tensorflow-cpu 2.16.1: built without CUDA"),
    ("torchvision_mismatch-versions", "linux",
     {"frameworks": {"torch": {"packages": {"torch": "2.5.1+cu124", "torchvision": "0.19.0+cu121"}}}},
     "torchvision_mismatch", "error",
     "install --force-reinstall --no-deps torchvision==0.20.1 --index-url https://download.pytorch.org/whl/cu124",
     "torch 2.5.1+cu124 pairs with torchvision 0.20.1; torchvision 0.19.0+cu121 is installed"),
    ("torchvision_mismatch-cpu-beside-cuda", "linux",
     {"frameworks": {"torch": {"packages": {"torch": "2.5.1+cu124", "torchvision": "0.20.1+cpu"}}}},
     "torchvision_mismatch", "error", "torchvision==0.20.1",
     "torch is the cu124 build, torchvision the cpu build"),
    ("torchvision_mismatch-log", "linux",
     {"frameworks": {"torch": {"packages": {"torch": "2.5.1+cu124", "torchvision": "0.20.1"}}},
      "logs": log("  File \"/home/lab/venv/lib/python3.11/site-packages/torchvision/_meta_registrations.py\", line 163\n"
                  "RuntimeError: operator torchvision::nms does not exist", "train.log")},
     "torchvision_mismatch", "error", "torchvision==0.20.1", "RuntimeError: operator torchvision::nms does not exist"),
    ("driver_too_old-facts", "linux",
     {"driver": {"version": "470.82.01", "cuda_version": "11.4", "userspace_version": "470.82.01",
                 "kernel_module": {"version": "470.82.01"}},
      "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None}}},
     "driver_too_old", "error", "--index-url https://download.pytorch.org/whl/cu118", "needs driver >= 525.60.13"),
    ("driver_too_old-torch-text", "linux",
     {"driver": {"version": None, "cuda_version": None},
      "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None,
                               "log": "UserWarning: CUDA initialization: The NVIDIA driver on your system is too old (found version 11040). "
                                      "Please update your GPU driver by downloading and installing a new version from the URL: "
                                      "http://www.nvidia.com/Download/index.aspx Alternatively, go to: https://pytorch.org to install "
                                      "a PyTorch version that has been compiled with your version of the CUDA driver."}}},
     "driver_too_old", "error", "sudo ubuntu-drivers install", "the driver supports CUDA up to 11.4"),
    ("driver_too_old-wsl-uses-windows-floor", "linux",
     {"os": {"wsl": True}, "driver": {"version": "522.06", "cuda_version": "11.8", "kernel_module": None,
                                      "userspace_version": None},
      "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None}}},
     "driver_too_old", "error", "install it in Windows, not inside WSL", "needs driver >= 528.33"),
    ("driver_too_old-windows-tf210-dll-style-versions", "windows",
     {"driver": {"version": "451.48", "cuda_version": "11.0"},
      "frameworks": {"torch": None, "tensorflow": tf("2.10.1", cuda="64_112", cudnn="64_8", cuda_available=False)}},
     "driver_too_old", "error", "Install NVIDIA driver 452.39 or newer", "tensorflow 2.10.1 was built for CUDA 11.2"),
    ("nvml_version_mismatch", "linux",
     {"driver": {"version": None, "source": "sysfs", "userspace_version": "550.107.02",
                 "kernel_module": {"version": "550.90.07"},
                 "errors": ["Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 550.107"],
                 "kernel_log": ["[ 8123.442110] NVRM: API mismatch: the client has the version 550.107.02, but",
                                "NVRM: this kernel module has the version 550.90.07.  Please",
                                "NVRM: make sure that this kernel module and all NVIDIA driver",
                                "NVRM: components have the same version."]},
      "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None}}},
     "nvml_version_mismatch", "error", "sudo reboot", "Failed to initialize NVML: Driver/library version mismatch"),
    ("nvidia_smi_userspace_stale", "linux",
     {"driver": {"nvidia_smi": {"path": "/usr/bin/nvidia-smi", "found": True, "timed_out": False,
                                "version": "535.183.01", "driver_version": "550.54.15", "cuda_version": "12.4"}}},
     "nvidia_smi_userspace_stale", "warning", "sudo apt install --reinstall nvidia-utils-550",
     "NVIDIA-SMI 535.183.01, Driver Version 550.54.15"),
    ("nvidia_smi_userspace_stale-header-in-log", "linux",
     {"logs": log("| NVIDIA-SMI 535.183.01             Driver Version: 550.54.15      CUDA Version: 12.4     |",
                  "nvidia-smi.txt")},
     "nvidia_smi_userspace_stale", "warning", "nvidia-utils-550", "NVIDIA-SMI 535.183.01"),
    ("arch_unsupported-rtx5090-cu124", "linux",
     {"gpus": RTX5090, "driver": DRIVER_570,
      "frameworks": {"torch": {"cuda_available": True, "kernel_ok": False,
                               "log": "UserWarning: \nNVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the "
                                      "current PyTorch installation.\nThe current PyTorch install supports CUDA capabilities sm_50 "
                                      "sm_60 sm_70 sm_75 sm_80 sm_86 sm_90.",
                               "error": "RuntimeError: CUDA error: no kernel image is available for execution on the device"}}},
     "arch_unsupported", "error", "--index-url https://download.pytorch.org/whl/cu12",
     "no kernel image is available for execution on the device"),
    ("arch_too_old-gtx1080ti-cu128", "linux",
     {"gpus": GTX1080TI, "driver": DRIVER_570,
      "frameworks": {"torch": {"version": "2.7.0+cu128", "cuda": "12.8", "kernel_ok": False,
                               "arch_list": ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"],
                               "log": "NVIDIA GeForce GTX 1080 Ti with CUDA capability sm_61 is not compatible with the current "
                                      "PyTorch installation.\nThe current PyTorch install supports CUDA capabilities sm_75 sm_80 "
                                      "sm_86 sm_90 sm_100 sm_120 compute_120."}}},
     "arch_too_old", "error", "torch==2.7.0 --index-url https://download.pytorch.org/whl/cu126",
     "carries kernels for: sm_75 sm_80"),
    ("arch_too_old-tensorflow-m60", "linux",
     {"gpus": [{"index": 0, "vendor": "nvidia", "name": "Tesla M60", "compute_capability": "5.2"}],
      "frameworks": {"torch": None, "tensorflow": tf(
          "2.17.0", cuda="12.3", cuda_available=False,
          log="I0000 00:00:1723456789.000000  4242 gpu_device.cc:2347] Ignoring visible gpu device (device: 0, name: Tesla M60, "
              "pci bus id: 0000:00:1e.0, compute capability: 5.2) with Cuda compute capability 5.2. The minimum required Cuda "
              "capability is 6.0.")}},
     "arch_too_old", "error", '"tensorflow[and-cuda]==2.16.1"', "The minimum required Cuda capability is 6.0."),
    ("gpu_legacy_driver_cap-kepler-cuda12", "linux",
     {"gpus": [{"index": 0, "vendor": "nvidia", "name": "Tesla K40c", "compute_capability": "3.5"}],
      "driver": {"version": "470.256.02", "cuda_version": "11.4", "userspace_version": "470.256.02",
                 "kernel_module": {"version": "470.256.02"}},
      "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None}}},
     "gpu_legacy_driver_cap", "error", "Stay on the 470 driver branch", "torch 2.5.1+cu124 is built for CUDA 12.4"),
    ("tf_ptx_jit_unsupported_arch", "linux",
     {"gpus": RTX5090, "driver": DRIVER_570,
      "frameworks": {"torch": None, "tensorflow": tf(
          "2.18.0", cuda="12.5", arch_list=["sm_60", "sm_70", "sm_80", "sm_89", "compute_90"],
          log="W0000 00:00:1736000000.000000  1111 gpu_device.cc:2344] TensorFlow was not built with CUDA kernel binaries "
              "compatible with compute capability 12.0. CUDA kernels will be jit-compiled from PTX, which could take 30 "
              "minutes or longer.")}},
     "tf_ptx_jit_unsupported_arch", "warning", "CUDA_CACHE_MAXSIZE=4294967296", "compatible with compute capability 12.0"),
    ("tf_ptx_jit_unsupported_arch-invalid-ptx", "linux",
     {"gpus": RTX5090, "driver": DRIVER_570,
      "frameworks": {"torch": None, "tensorflow": tf(
          "2.18.0", cuda="12.5", kernel_ok=False, arch_list=["sm_60", "sm_70", "sm_80", "sm_89", "compute_90"],
          error="INTERNAL: CUDA error: Failed to load in-memory CUBIN: CUDA_ERROR_INVALID_PTX: a PTX JIT compilation failed")}},
     "tf_ptx_jit_unsupported_arch", "error", "compute capability 12.0", "CUDA_ERROR_INVALID_PTX"),
    ("tf_windows_native_gpu_unsupported", "windows",
     {"frameworks": {"torch": None, "tensorflow": tf("2.15.0", package="tensorflow-intel", is_cuda_build=False,
                                                     cuda_available=False)}},
     "tf_windows_native_gpu_unsupported", "warning", 'pip install "tensorflow==2.10.0"',
     "tf.config.list_physical_devices('GPU') returned []"),
    ("tf_and_cuda_on_windows", "windows",
     {"frameworks": {"torch": None},
      "logs": log('ERROR: Could not find a version that satisfies the requirement nvidia-nccl-cu12==2.19.3; extra == "and-cuda" '
                  '(from tensorflow[and-cuda]) (from versions: none)\n'
                  'ERROR: No matching distribution found for nvidia-nccl-cu12==2.19.3; extra == "and-cuda"')},
     "tf_and_cuda_on_windows", "error", "install tensorflow)", 'extra == "and-cuda"'),
    ("tf_and_cuda_libs_not_found", "linux",
     {"frameworks": {"torch": None, "tensorflow": tf(
         "2.16.1", cuda="12.3", cudnn="8", cuda_available=False, log=TF_DLOPEN,
         packages={"tensorflow": "2.16.1", "nvidia-cudnn-cu12": "8.9.7.29", "nvidia-cuda-runtime-cu12": "12.3.101"})}},
     "tf_and_cuda_libs_not_found", "error", "ln -svf ../nvidia/*/lib/*.so*", "Cannot dlopen some GPU libraries"),
    ("tensorflow_gpu_package_removed", "linux",
     {"logs": log('  × python setup.py egg_info did not run successfully.\n  │ exit code: 1\n  ╰─> [18 lines of output]\n'
                  '      Exception:\n      =========================================================\n'
                  '      The "tensorflow-gpu" package has been removed!\n      Please install "tensorflow" instead.\n')},
     "tensorflow_gpu_package_removed", "error", 'uninstall -y tensorflow-gpu && /home/lab/venv/bin/python -m pip install "tensorflow[and-cuda]"',
     'The "tensorflow-gpu" package has been removed!'),
    ("tensorrt_and_cuda_unresolvable", "linux",
     {"python": {"version": "3.11.9"},
      "logs": log('$ pip install "tensorflow[and-cuda]==2.15.0"\n'
                  'ERROR: Could not find a version that satisfies the requirement tensorrt-libs==8.6.1; extra == "and-cuda" '
                  '(from tensorflow[and-cuda]) (from versions: 9.0.0.post11.dev1, 9.0.0.post12.dev1, 9.0.1.post11.dev4)\n'
                  'ERROR: No matching distribution found for tensorrt-libs==8.6.1; extra == "and-cuda"')},
     "tensorrt_and_cuda_unresolvable", "error", '"tensorflow[and-cuda]==2.15.0.post1"', "tensorrt-libs==8.6.1"),
    ("cudnn_mismatch-tf-log", "linux",
     {"frameworks": {"torch": None, "tensorflow": tf(
         "2.14.0", cuda="11.8", cudnn="8", kernel_ok=False,
         log="2023-10-05 10:00:00.000000: E tensorflow/compiler/xla/stream_executor/cuda/cuda_dnn.cc:439] Loaded runtime CuDNN "
             "library: 8.1.0 but source was compiled with: 8.6.0.  CuDNN library needs to have matching major version and equal "
             "or higher minor version. If using a binary install, upgrade your CuDNN library.  If building from sources, make "
             "sure the library loaded at runtime is compatible with the version specified during compile configuration.")}},
     "cudnn_mismatch", "error", '"nvidia-cudnn-cu11>=8.6.0,<9"', "Loaded runtime CuDNN library: 8.1.0"),
    ("cudnn_mismatch-torch-and-tf-in-one-venv", "linux",
     {"frameworks": {"tensorflow": tf("2.18.0", cuda="12.5", cudnn="9", kernel_ok=False,
                                      packages={"nvidia-cudnn-cu12": "9.1.0.70"})}},
     "cudnn_mismatch", "error", "separate environments", "nvidia-cudnn-cu12==9.1.0.70"),
    ("cudnn_mismatch-torch-ld-library-path", "linux",
     {"env": {"LD_LIBRARY_PATH": "/usr/local/cuda-11.2/lib64"},
      "cudnn": [{"version": "8.1.0", "location": "/usr/local/cuda-11.2/lib64", "source": "library"}],
      "frameworks": {"torch": {"version": "2.1.2+cu118", "cuda": "11.8", "cudnn": "8.1.0", "kernel_ok": False,
                               "arch_list": [], "packages": {"nvidia-cudnn-cu11": "8.7.0.84"},
                               "error": "RuntimeError: cuDNN version incompatibility: PyTorch was compiled  against (8, 7, 0) but "
                                        "found runtime version (8, 1, 0). PyTorch already comes bundled with cuDNN. One option to "
                                        "resolving this error is to ensure PyTorch can find the bundled cuDNN. Looks like your "
                                        "LD_LIBRARY_PATH contains incompatible version of cudnn. Please either remove it from the "
                                        "path or install cudnn (8, 7, 0)"}}},
     "cudnn_shadowed_by_ld_library_path", "error", "unset LD_LIBRARY_PATH", "PyTorch was compiled  against (8, 7, 0)"),
    ("arch_too_old-torch-text-only", "linux",
     {"gpus": [{"index": 0, "vendor": "nvidia", "name": "Tesla K80", "compute_capability": "3.7"}],
      "driver": {"version": "470.256.02", "cuda_version": "11.4", "userspace_version": "470.256.02",
                 "kernel_module": {"version": "470.256.02"}},
      "frameworks": {"torch": {"version": "2.0.1+cu117", "cuda": "11.7", "arch_list": [], "cuda_available": True,
                               "kernel_ok": False,
                               "log": "UserWarning: \n    Found GPU0 Tesla K80 which is of cuda capability 3.7.\n    PyTorch no "
                                      "longer supports this GPU because it is too old.\n    The minimum cuda capability supported "
                                      "by this library is 5.0."}}},
     "arch_too_old", "error", "--index-url https://download.pytorch.org/whl/cu11", "PyTorch no longer supports this GPU because it is too old."),
    ("cudnn9_not_found", "linux",
     {"frameworks": {"torch": None, "tensorflow": tf(
         "2.18.0", cuda="12.5", cudnn="9", cuda_available=False,
         log="W0000 00:00:1736000000.000000  2222 dso_loader.cc:70] Could not load dynamic library 'libcudnn.so.9'; dlerror: "
             "libcudnn.so.9: cannot open shared object file: No such file or directory")}},
     "cudnn9_not_found", "error", '"tensorflow[and-cuda]==2.18.0"', "libcudnn.so.9: cannot open shared object file"),
    ("cudnn9_sublibrary_missing-windows", "windows",
     {"cudnn": [{"version": "9.1.0", "source": "library",
                 "location": "C:\\Program Files\\NVIDIA\\CUDNN\\v9.1\\bin\\12.4\\cudnn64_9.dll", "libraries": ["cudnn64_9.dll"]}],
      "logs": log("Could not locate cudnn_graph64_9.dll. Please make sure it is in your library path!\n"
                  "Invalid handle. Cannot load symbol cudnnCreate", "run.txt")},
     "cudnn9_sublibrary_missing", "error", "copy every file of the archive's bin folder", "lacks cudnn_graph64_9.dll"),
    ("cudnn_shadowed_by_ld_library_path", "linux",
     {"env": {"LD_LIBRARY_PATH": "/usr/local/cuda-11.2/lib64:/usr/local/nccl/lib"},
      "cudnn": [{"version": "8.1.1", "location": "/usr/local/cuda-11.2/lib64", "source": "library", "origin": "LD_LIBRARY_PATH"}],
      "frameworks": {"torch": None, "tensorflow": tf(
          "2.16.1", cuda="12.3", cudnn="8", kernel_ok=False,
          log="E0000 00:00:1712345678.000000  3333 cuda_dnn.cc:535] Loaded runtime CuDNN library: 8.1.1 but source was compiled "
              "with: 8.9.6.  CuDNN library needs to have matching major version and equal or higher minor version.")}},
     "cudnn_shadowed_by_ld_library_path", "error", 'export LD_LIBRARY_PATH="/usr/local/nccl/lib"', "cuDNN 8.1.1 at /usr/local/cuda-11.2/lib64"),
    ("cudnn_shadowed_by_conda_lib", "linux",
     {"python": {"kind": "conda", "executable": "/home/tanaka/miniconda3/envs/tf/bin/python",
                 "conda_prefix": "/home/tanaka/miniconda3/envs/tf"},
      "env": {"LD_LIBRARY_PATH": "/home/tanaka/miniconda3/envs/tf/lib/", "CONDA_PREFIX": "/home/tanaka/miniconda3/envs/tf"},
      "cudnn": [{"version": "8.1.0", "location": "/home/tanaka/miniconda3/envs/tf/lib", "source": "library", "origin": "conda"}],
      "frameworks": {"torch": None, "tensorflow": tf(
          "2.13.0", cuda="11.8", cudnn="8", kernel_ok=False,
          log="E tensorflow/compiler/xla/stream_executor/cuda/cuda_dnn.cc:425] Loaded runtime CuDNN library: 8.1.0 but source "
              "was compiled with: 8.6.0.  CuDNN library needs to have matching major version and equal or higher minor version.")}},
     "cudnn_shadowed_by_conda_lib", "error", "/home/tanaka/miniconda3/envs/tf/etc/conda/activate.d/env_vars.sh",
     "cuDNN 8.1.0 at /home/tanaka/miniconda3/envs/tf/lib"),
    ("cudnn_shadowed_by_path_windows", "windows",
     {"windows": {"dlls_on_path": {"cudnn64_8.dll": ["C:\\tools\\cudnn-8.0\\bin",
                                                     "C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v11.2\\bin"]}},
      "cudnn": [{"version": "8.0.5", "location": "C:\\tools\\cudnn-8.0\\bin\\cudnn64_8.dll", "source": "library"},
                {"version": "8.1.1", "location": "C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v11.2\\bin\\cudnn64_8.dll",
                 "source": "library"}],
      "frameworks": {"torch": None, "tensorflow": tf("2.10.1", cuda="64_112", cudnn="64_8", kernel_ok=False)}},
     "cudnn_shadowed_by_path_windows", "error", "Remove C:\\tools\\cudnn-8.0\\bin from PATH",
     "cuDNN 8.0.5 at C:\\tools\\cudnn-8.0\\bin\\cudnn64_8.dll"),
    ("conda_pip_cuda_mix", "linux",
     {"python": {"kind": "conda", "conda_prefix": "/opt/conda/envs/lab"},
      "cudnn": [{"version": "8.2.1.32", "location": "/opt/conda/envs/lab/conda-meta/cudnn-8.2.1.32-h86fa8c9_0.json",
                 "source": "conda"}],
      "frameworks": {"torch": {"packages": {"nvidia-cudnn-cu12": "9.1.0.70", "nvidia-cublas-cu12": "12.4.5.8"}}}},
     "conda_pip_cuda_mix", "warning", "conda remove --force cudnn", "nvidia-cudnn-cu12==9.1.0.70"),
    ("cuda_libs_missing-windows-tf210", "windows",
     {"frameworks": {"torch": None, "tensorflow": tf(
         "2.10.1", cuda="64_112", cudnn="64_8", cuda_available=False,
         log="2023-01-10 10:00:00.000000: W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic "
             "library 'cudart64_110.dll'; dlerror: cudart64_110.dll not found\n2023-01-10 10:00:00.000000: I "
             "tensorflow/stream_executor/cuda/cudart_stub.cc:29] Ignore above cudart dlerror if you do not have a GPU set up on "
             "your machine.")}},
     "cuda_libs_missing", "error", "conda install -c conda-forge cudatoolkit=11.2 cudnn=8.1",
     "Could not load dynamic library 'cudart64_110.dll'"),
    ("cuda_libs_missing-linux-torch", "linux",
     {"frameworks": {"torch": {"cuda_available": None, "kernel_ok": None, "version": "2.5.1+cu124",
                               "error": "OSError: libcublas.so.12: cannot open shared object file: No such file or directory"}}},
     "cuda_libs_missing", "error", "--index-url https://download.pytorch.org/whl/cu124", "libcublas.so.12"),
    ("cuda_toolkit_version_mismatch", "linux",
     {"cuda_toolkits": [{"version": "11.8", "root": "/usr/local/cuda-11.8", "nvcc": "/usr/local/cuda-11.8/bin/nvcc",
                         "source": "version.json", "on_path": True},
                        {"version": "12.4", "root": "/usr/local/cuda-12.4", "nvcc": "/usr/local/cuda-12.4/bin/nvcc",
                         "source": "version.json"}],
      "logs": log("RuntimeError: \nThe detected CUDA version (11.8) mismatches the version that was used to compile\n"
                  "PyTorch (12.4). Please make sure to use the same CUDA versions.", "build.txt")},
     "cuda_toolkit_version_mismatch", "error", "export CUDA_HOME=/usr/local/cuda-12.4",
     "is the newest CUDA the driver can run, not an installed toolkit"),
    ("cuda_visible_devices_hidden", "linux",
     {"env": {"CUDA_VISIBLE_DEVICES": "-1"},
      "frameworks": {"torch": None, "tensorflow": tf(
          "2.16.1", cuda="12.3", cuda_available=False,
          log="E external/local_xla/xla/stream_executor/cuda/cuda_driver.cc:282] failed call to cuInit: "
              "CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected")}},
     "cuda_visible_devices_hidden", "error", "unset CUDA_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES=-1"),
    ("container_without_gpu", "linux",
     {"os": {"container": True}, "driver": None, "gpus": [],
      "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None,
                               "log": "UserWarning: CUDA initialization: Found no NVIDIA driver on your system. Please check that "
                                      "you have an NVIDIA GPU and installed a driver from http://www.nvidia.com/Download/index.aspx"}}},
     "container_without_gpu", "error", "docker run --gpus all", "Found no NVIDIA driver on your system"),
    ("nouveau_loaded", "linux",
     {"driver": {"version": None, "cuda_version": None, "source": None, "nouveau_loaded": True,
                 "kernel_module": {"loaded": False, "version": None},
                 "kernel_log": ["[    2.841211] NVRM: The NVIDIA probe routine was not called for 1 device(s).",
                                "[    2.841213] NVRM: This can occur when a driver such as: ",
                                "NVRM: nouveau, rivafb, nvidiafb or rivatv ",
                                "NVRM: was loaded and obtained ownership of the NVIDIA device(s)."]},
      "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None}}},
     "nouveau_loaded", "error", "blacklist nouveau", "nouveau, rivafb, nvidiafb or rivatv"),
    ("secure_boot_module_rejected", "linux",
     {"os": {"secure_boot": True},
      "driver": {"version": None, "cuda_version": None, "kernel_module": {"loaded": False, "version": None},
                 "errors": ["modprobe: ERROR: could not insert 'nvidia': Key was rejected by service"]},
      "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None}}},
     "secure_boot_module_rejected", "error", "sudo mokutil --import", "Key was rejected by service"),
    ("blackwell_needs_open_kernel_module", "linux",
     {"gpus": RTX5090,
      "driver": {"version": "570.86.16", "userspace_version": "570.86.16",
                 "kernel_module": {"loaded": True, "version": "570.86.16", "flavor": "proprietary"},
                 "kernel_log": ["[    5.101010] NVRM: The NVIDIA GPU 0000:01:00.0 (PCI ID: 10de:2b85)",
                                "NVRM: installed in this system requires use of the NVIDIA open kernel modules.",
                                "[    5.101020] NVRM: GPU 0000:01:00.0: RmInitAdapter failed! (0x22:0x56:884)"]}},
     "blackwell_needs_open_kernel_module", "error", "sudo apt install nvidia-driver-570-open",
     "requires use of the NVIDIA open kernel modules"),
    ("nvidia_uvm_stale", "linux",
     {"driver": {"nvidia_uvm_loaded": False},
      "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None,
                               "log": "UserWarning: CUDA initialization: CUDA unknown error - this may be due to an incorrectly set "
                                      "up environment, e.g. changing env variable CUDA_VISIBLE_DEVICES after program start. Setting "
                                      "the available devices to be zero. (Triggered internally at ../c10/cuda/CUDAFunctions.cpp:108.)"}}},
     "nvidia_uvm_stale", "error", "sudo modprobe nvidia_uvm", "CUDA unknown error"),
    ("gpu_init_failed_bios", "linux",
     {"driver": {"version": "550.54.15", "kernel_log": [
         "[    4.120000] NVRM: This PCI I/O region assigned to your NVIDIA device is invalid:",
         "[    4.120001] NVRM: BAR1 is 0M @ 0x0 (PCI:0000:01:00.0)",
         "[    4.230000] NVRM: GPU 0000:01:00.0: RmInitAdapter failed! (0x22:0x56:742)"]}},
     "gpu_init_failed_bios", "error", "Above 4G Decoding", "RmInitAdapter failed! (0x22:0x56:742)"),
    ("wsl_libcuda_not_found", "linux",
     {"os": {"wsl": True}, "driver": {"version": "560.94", "kernel_module": None, "userspace_version": None},
      "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None,
                               "error": "Could not load library libcudnn_cnn_infer.so.8. Error: libcuda.so: cannot open shared "
                                        "object file: No such file or directory"}}},
     "wsl_libcuda_not_found", "error", "export LD_LIBRARY_PATH=/usr/lib/wsl/lib:$LD_LIBRARY_PATH", "libcuda.so: cannot open"),
    ("wsl_libcuda_not_found-missing-file", "linux",
     {"os": {"wsl": True}, "driver": {"version": None, "kernel_module": None, "wsl_libcuda": None}},
     "wsl_libcuda_not_found", "error", "wsl --update", "/usr/lib/wsl/lib/libcuda.so.1: not found"),
    ("windows_store_python", "windows",
     {"python": {"kind": "store", "executable": "C:\\Users\\student\\AppData\\Local\\Microsoft\\WindowsApps\\"
                                                "PythonSoftwareFoundation.Python.3.10_qbz5n2kfra8p0\\python.exe"}},
     "windows_store_python", "warning", "py -3.10 -m venv .venv", "PythonSoftwareFoundation.Python.3.10_qbz5n2kfra8p0"),
    ("windows_long_paths_disabled-pip", "windows",
     {"windows": {"long_paths_enabled": False},
      "logs": log("ERROR: Could not install packages due to an OSError: [Errno 2] No such file or directory: 'C:\\Users\\藤澤\\"
                  "lab\\.venv\\Lib\\site-packages\\tensorflow\\include\\external\\com_github_grpc_grpc\\src\\core\\ext\\filters\\"
                  "client_channel\\lb_policy\\grpclb\\client_load_reporting_filter.h'\nHINT: This error might have occurred since "
                  "this system does not have Windows Long Path support enabled. You can find information on how to enable this "
                  "at https://pip.pypa.io/warnings/enable-long-paths")},
     "windows_long_paths_disabled", "error", "-Name LongPathsEnabled -Value 1", "does not have Windows Long Path support enabled"),
    ("windows_dll_search_path", "windows",
     {"windows": {"dlls_on_path": {"cudnn64_8.dll": ["C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v11.8\\bin"]}},
      "logs": log("FileNotFoundError: Could not find module 'cudnn64_8.dll' (or one of its dependencies). Try using the full "
                  "path with constructor syntax.", "traceback.txt")},
     "windows_dll_search_path", "error",
     'os.add_dll_directory(r"C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v11.8\\bin")',
     "Could not find module 'cudnn64_8.dll'"),
    ("zlibwapi_missing", "windows",
     {"windows": {"dlls_on_path": {"cudnn64_8.dll": ["C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v11.8\\bin"],
                                   "zlibwapi.dll": []}},
      "cudnn": [{"version": "8.9.7", "location": "C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v11.8\\bin",
                 "source": "library"}],
      "logs": log("Could not locate zlibwapi.dll. Please make sure it is in your library path!", "run.txt")},
     "zlibwapi_missing", "error", "copy dll_x64\\zlibwapi.dll into C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v11.8\\bin",
     "Could not locate zlibwapi.dll"),
    ("vc_redist_missing", "windows",
     {"windows": {"vc_runtime_version": None, "vc_runtime_dll": None},
      "frameworks": {"torch": {"cuda_available": None, "kernel_ok": None,
                               "error": 'OSError: [WinError 126] The specified module could not be found. Error loading '
                                        '"C:\\Users\\藤澤\\lab\\.venv\\lib\\site-packages\\torch\\lib\\c10.dll" or one of its dependencies.',
                               "log": "Microsoft Visual C++ Redistributable is not installed, this may lead to the DLL load "
                                      "failure. It can be downloaded at https://aka.ms/vs/16/release/vc_redist.x64.exe"}}},
     "vc_redist_missing", "error", "winget install Microsoft.VCRedist.2015+.x64",
     "Microsoft Visual C++ Redistributable is not installed"),
    ("python_version_unsupported-pip", "windows",
     {"python": {"version": "3.12.4"}, "frameworks": {"torch": None},
      "logs": log("ERROR: Could not find a version that satisfies the requirement tensorflow==2.10.0 (from versions: 2.16.0rc0, "
                  "2.16.1, 2.16.2, 2.17.0rc0, 2.17.0)\nERROR: No matching distribution found for tensorflow==2.10.0")},
     "python_version_unsupported", "error", "py -3.10 -m venv .venv", "tensorflow==2.10.0"),
    ("probe_timeout", "linux",
     {"driver": {"errors": ["nvidia-smi did not answer within 10 s (timed out)"]},
      "frameworks": {"torch": {"cuda_available": None, "kernel_ok": None, "timed_out": True}}},
     "probe_timeout", "error", "reboot", "nvidia-smi did not answer within 10 s (timed out)"),
    ("gpu_check_failed", "linux",
     {"frameworks": {"torch": {"kernel_ok": False,
                               "error": "RuntimeError: CUDA error: unspecified launch failure\nCUDA kernel errors might be "
                                        "asynchronously reported at some other API call, so the stacktrace below might be "
                                        "incorrect.\nFor debugging consider passing CUDA_LAUNCH_BLOCKING=1."}}},
     "gpu_check_failed", "error", "nktenv doctor --log error.txt", "RuntimeError: CUDA error: unspecified launch failure"),
    ("driver_not_installed", "linux",
     {"driver": {"version": None, "cuda_version": None, "source": None, "kernel_module": {"loaded": False, "version": None},
                 "errors": ["NVML Shared Library Not Found"]},
      "gpus": [{"index": 0, "vendor": "nvidia", "name": "NVIDIA Corporation GA107M [GeForce RTX 3050 Mobile]", "source": "lspci"}],
      "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None}}},
     "driver_not_installed", "error", "sudo ubuntu-drivers install", "NVML Shared Library Not Found"),
    # Codes for the breakages of 2024-2026: texts from the public reports kept verbatim in tests/doctor/reports,
    # here with versions adapted to the healthy base machine (the reports test the codes on the originals).
    ("gpu_compute_mode_restricted-prohibited", "linux",
     {"gpus": [{"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce RTX 3090", "compute_capability": "8.6",
                "compute_mode": "Prohibited", "processes": []}],
      "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None}}},
     "gpu_compute_mode_restricted", "error", "sudo nvidia-smi -i 0 -c DEFAULT", "compute mode Prohibited"),
    ("gpu_compute_mode_restricted-exclusive-busy", "linux",
     {"gpus": [{"index": 0, "vendor": "nvidia", "name": "Tesla K40m", "compute_capability": "3.5", "compute_mode": "Exclusive_Process",
                "processes": [{"pid": 4242, "name": "python", "used_memory_bytes": 1073741824, "type": "C"}]}],
      "logs": log("Check failed: error == cudaSuccess (46 vs. 0)  all CUDA-capable devices are busy or unavailable")},
     "gpu_compute_mode_restricted", "error", "-c DEFAULT", "all CUDA-capable devices are busy or unavailable"),
    ("gpu_memory_held_by_other_process", "linux",
     {"gpus": [{"index": 0, "vendor": "nvidia", "name": "NVIDIA GeForce RTX 3090", "compute_capability": "8.6",
                "memory_total_bytes": 25769803776,
                "processes": [{"pid": 31337, "name": "/usr/bin/python3", "used_memory_bytes": 20401094656, "type": "C"}]}],
      "logs": log("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 22.78 GiB. GPU 0 has a total capacity of 31.47 GiB "
                  "of which 12.73 GiB is free.", "train.log")},
     "gpu_memory_held_by_other_process", "error", "kill 31337", "process 31337 (/usr/bin/python3) uses 19456 MiB"),
    ("extension_abi_mismatch-flash-attn", "linux",
     {"frameworks": {"torch": {"version": "2.3.1+cu121", "cuda": "12.1",
                               "packages": {"torch": "2.3.1+cu121", "flash-attn": "2.5.9.post1"}}},
      "logs": log("ImportError: /home/lab/venv/lib/python3.11/site-packages/flash_attn_2_cuda.cpython-311-x86_64-linux-gnu.so: "
                  "undefined symbol: _ZN3c104cuda9SetDeviceEi", "traceback.txt")},
     "extension_abi_mismatch", "error", "install flash-attn --no-build-isolation", "flash-attn==2.5.9.post1"),
    ("extension_abi_mismatch-xformers", "linux",
     {"logs": log("WARNING[XFORMERS]: xFormers can't load C++/CUDA extensions. xFormers was built for:\n"
                  "    PyTorch 2.3.0+cu121 with CUDA 1201 (you have 2.5.1+cu124)\n    Python  3.10.14 (you have 3.10.12)")},
     "extension_abi_mismatch", "error", "xformers --index-url https://download.pytorch.org/whl/cu124",
     "xformers was built for torch 2.3.0+cu121; torch 2.5.1+cu124 is installed"),
    ("cuda_pip_libs_mixed-ld-library-path", "linux",
     {"env": {"LD_LIBRARY_PATH": "/usr/local/cuda-12.1/lib64:"},
      "frameworks": {"torch": {"error": "ImportError: /home/lab/venv/lib/python3.10/site-packages/torch/lib/../../nvidia/cusparse/lib/"
                                        "libcusparse.so.12: undefined symbol: __nvJitLinkAddData_12_1, version libnvJitLink.so.12",
                               "cuda_available": None, "kernel_ok": None}}},
     "cuda_pip_libs_mixed", "error", "unset LD_LIBRARY_PATH", "undefined symbol: __nvJitLinkAddData_12_1"),
    ("cuda_pip_libs_mixed-two-majors", "linux",
     {"frameworks": {"torch": {"packages": {"torch": "2.5.1+cu124", "nvidia-nccl-cu12": "2.21.5", "nvidia-nccl-cu11": "2.14.3"},
                               "error": "ImportError: /home/lab/venv/lib/python3.10/site-packages/torch/lib/libtorch_cuda.so: "
                                        "undefined symbol: ncclCommRegister", "cuda_available": None, "kernel_ok": None}}},
     "cuda_pip_libs_mixed", "error", "uninstall -y nvidia-nccl-cu11", "nvidia-nccl-cu11==2.14.3"),
    ("tf_without_and_cuda", "linux",
     {"frameworks": {"torch": None, "tensorflow": tf("2.16.1", cuda="12.3", cudnn="8", cuda_available=False,
                                                     packages={"tensorflow": "2.16.1"})}},
     "tf_without_and_cuda", "error", '"tensorflow[and-cuda]==2.16.1"', "no nvidia-cudnn-cu* wheel is installed"),
    ("wsl_linux_driver_installed", "linux",
     {"os": {"wsl": True, "wsl_version": 2},
      "driver": {"version": None, "kernel_module": None, "userspace_version": None,
                 "nvidia_smi": {"path": "/usr/bin/nvidia-smi", "found": True,
                                "error": "Failed to initialize NVML: GPU access blocked by the operating system"},
                 "errors": ["Failed to initialize NVML: GPU access blocked by the operating system"]}},
     "wsl_linux_driver_installed", "error", "sudo apt remove --purge 'nvidia-driver-*'", "nvidia-smi found at /usr/bin/nvidia-smi"),
    ("docker_gpu_runtime_missing", "linux",
     {"logs": log('docker: Error response from daemon: could not select device driver "" with capabilities: [[gpu]].\n'
                  "ERRO[0000] error waiting for container:", "docker.txt")},
     "docker_gpu_runtime_missing", "error", "sudo nvidia-ctk runtime configure --runtime=docker",
     'could not select device driver "" with capabilities: [[gpu]]'),
    ("unexplained_error", "linux",
     {"logs": log("jcuda.CudaException: CUDA_ERROR_OUT_OF_MEMORY\n    at jcuda.driver.JCudaDriver.checkResult(JCudaDriver.java:337)")},
     "unexplained_error", "warning", "nvidia-smi shows who holds the memory", "jcuda.CudaException: CUDA_ERROR_OUT_OF_MEMORY"),
    ("facts_incomplete", "linux",
     {"driver": None, "gpus": [], "frameworks": {"torch": {"cuda_available": False, "kernel_ok": None}}},
     "facts_incomplete", "info", "nvidia-smi", "driver: not in the snapshot (unknown)"),
]


def _doc(base: str, patch: dict[str, Any]) -> dict[str, Any]:
    return merge(healthy_windows() if base == "windows" else healthy_linux(), patch)


CASES += SERVER_CASES  # server-room, container and library-copy codes: test_doctor_server.py
CASES += ROCM_CASES  # AMD GPUs: test_doctor_rocm.py


@pytest.mark.parametrize(("base", "patch", "code", "severity", "fix", "evidence"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_code(base: str, patch: dict[str, Any], code: str, severity: str, fix: str, evidence: str) -> None:
    found = by_code(run(_doc(base, patch)))
    assert code in found, f"{code} not in {sorted(found)}"
    f = found[code]
    assert f.severity == severity
    assert fix in (f.fix or ""), f.fix
    assert any(evidence in e for e in f.evidence), f.evidence
    assert f.title and f.why


def test_every_required_code_has_a_case() -> None:
    from nktenv.doctor import CODES

    covered = {c[3] for c in CASES}
    assert set(CODES) - {"tf_log_noise"} <= covered, sorted(set(CODES) - covered)


def test_torchvision_patch_releases_of_the_paired_series_are_fine() -> None:
    # torch 2.5.1 pairs with torchvision 0.20.1; 0.20.0 is the same series, built for torch 2.5.*
    found = by_code(run(_doc("linux", {"frameworks": {"torch": {"packages": {"torch": "2.5.1+cu124",
                                                                             "torchvision": "0.20.0+cu124"}}}})))
    assert "torchvision_mismatch" not in found
