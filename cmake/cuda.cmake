# The optional CUDA backend: one static library, vit::cuda, built from a single translation unit
# (kernels/vit_cuda.cu) so that nvcc runs once. Host code that uses it (include/vit/cuda/*.hpp) is
# plain C++ and compiles with the host compiler alone.
#
#   VIT_ENABLE_CUDA           ON when nvcc is found (on PATH, via CUDACXX, or in /usr/local/cuda)
#   CMAKE_CUDA_ARCHITECTURES  default "80;90" (A100, H100/H200); set "native" on a machine with a GPU (CMake
#                             3.24+ resolves it; older CMake gets this machine's GPUs from nvidia-smi here)
if(DEFINED VIT_ENABLE_CUDA AND NOT VIT_ENABLE_CUDA)
  message(STATUS "vit: CUDA backend off (VIT_ENABLE_CUDA=OFF)")
  return()  # asked off: skip the compiler search too
endif()
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
  # A fresh machine often has the toolkit installed but not on PATH.
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc CACHE FILEPATH "CUDA compiler" FORCE)
endif()
if(CMAKE_CUDA_COMPILER)
  set(vit_cuda_default ON)
else()
  set(vit_cuda_default OFF)
endif()
option(VIT_ENABLE_CUDA "Build the CUDA backend (vit::cuda)" ${vit_cuda_default})
if(NOT VIT_ENABLE_CUDA)
  message(STATUS "vit: CUDA backend off (no nvcc found)")
  return()
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 80 90 CACHE STRING "CUDA architectures to build for")
endif()
if(CMAKE_CUDA_ARCHITECTURES STREQUAL "native" AND CMAKE_VERSION VERSION_LESS 3.24)
  # "native" is CMake 3.24's; the project supports 3.20. Ask the driver for the GPUs' compute capabilities.
  include(${CMAKE_CURRENT_LIST_DIR}/cuda_native_architectures.cmake)
  vit_cuda_native_architectures(vit_native_architectures nvidia-smi)
  if(NOT vit_native_architectures)
    message(FATAL_ERROR "CMAKE_CUDA_ARCHITECTURES=native needs CMake 3.24 or newer (this is ${CMAKE_VERSION}) or "
                        "nvidia-smi listing the GPUs; name the architectures instead, e.g. -DCMAKE_CUDA_ARCHITECTURES=90")
  endif()
  message(STATUS "vit: CUDA architectures 'native' = ${vit_native_architectures} (from nvidia-smi)")
  set(CMAKE_CUDA_ARCHITECTURES ${vit_native_architectures})
endif()
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
message(STATUS "vit: CUDA backend on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES})")

# Built only on demand when vit is a subproject (a consumer that links vit::cuda gets it).
if(VIT_IS_TOP_LEVEL)
  add_library(vit_cuda STATIC kernels/vit_cuda.cu)
else()
  add_library(vit_cuda STATIC EXCLUDE_FROM_ALL kernels/vit_cuda.cu)
endif()
add_library(vit::cuda ALIAS vit_cuda)
target_include_directories(vit_cuda PRIVATE ${PROJECT_SOURCE_DIR})  # kernels/*.cuh
# cuBLAS is not linked: vit::cuda loads it on first use (include/vit/cuda/cublas_library.cuh), so that a
# program linking vit::cuda but running on the CPU never maps its ~600 MB. Its folder is remembered as a fallback
# for the loader's search.
target_link_libraries(vit_cuda PUBLIC vit::vit CUDA::cudart ${CMAKE_DL_LIBS})
target_compile_definitions(vit_cuda PRIVATE VIT_CUBLAS_LIBRARY_DIR="${CUDAToolkit_LIBRARY_DIR}")
target_compile_definitions(vit_cuda PUBLIC VIT_WITH_CUDA=1)
target_compile_options(vit_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall,-Wextra
  $<$<BOOL:${VIT_WARNINGS_AS_ERRORS}>:-Werror=all-warnings -Xcompiler=-Werror>>)
set_target_properties(vit_cuda PROPERTIES POSITION_INDEPENDENT_CODE ON)
