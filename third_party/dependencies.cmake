# Finds the system packages vit builds on (Debian: libeigen3-dev, nlohmann-json3-dev, libstb-dev,
# libturbojpeg0-dev, catch2, libcli11-dev, libopenblas-dev).
# Nothing is vendored: this file is the only glue.
include(GNUInstallDirs)

find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(nlohmann_json 3.10 REQUIRED)
list(APPEND CMAKE_MODULE_PATH ${CMAKE_CURRENT_LIST_DIR})
find_package(stb REQUIRED)
find_package(turbojpeg REQUIRED)

# OpenMP parallelises the CPU backend; without it everything runs on one thread.
find_package(OpenMP COMPONENTS CXX)
set(VIT_HAS_OPENMP ${OpenMP_CXX_FOUND})

# OpenBLAS (optional) runs the CPU backend's GEMMs when found: its AVX-512 kernels are 15-25% faster than
# Eigen's at ViT shapes (include/vit/cpu/gemm.hpp). Without it Eigen does the products.
option(VIT_WITH_OPENBLAS "Use OpenBLAS for the CPU backend's matrix products when it is found" ON)
set(VIT_HAS_OPENBLAS OFF)
if(VIT_WITH_OPENBLAS)
  set(BLA_VENDOR OpenBLAS)
  find_package(BLAS)
  unset(BLA_VENDOR)
  find_path(VIT_CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas)
  if(BLAS_FOUND AND VIT_CBLAS_INCLUDE_DIR)
    set(VIT_HAS_OPENBLAS ON)
  endif()
endif()
if(VIT_HAS_OPENBLAS)
  message(STATUS "vit: CPU matrix products by OpenBLAS (${BLAS_LIBRARIES})")
else()
  message(STATUS "vit: CPU matrix products by Eigen (OpenBLAS not found or VIT_WITH_OPENBLAS=OFF)")
endif()
