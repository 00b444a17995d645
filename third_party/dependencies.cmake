# Finds the system packages vit builds on (Debian: libeigen3-dev, nlohmann-json3-dev, libstb-dev,
# libturbojpeg0-dev, zlib1g-dev, catch2, libcli11-dev, libdnnl-dev).
# Nothing is vendored: this file is the only glue.
include(GNUInstallDirs)

find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(nlohmann_json 3.10 REQUIRED)
list(APPEND CMAKE_MODULE_PATH ${CMAKE_CURRENT_LIST_DIR})
find_package(stb REQUIRED)
find_package(turbojpeg REQUIRED)
# zlib reads the gzip-compressed IDX files of MNIST and Fashion-MNIST (vit/train/idx.hpp).
find_package(ZLIB REQUIRED)

# OpenMP parallelises the CPU backend; without it everything runs on one thread.
find_package(OpenMP COMPONENTS CXX)
set(VIT_HAS_OPENMP ${OpenMP_CXX_FOUND})

# oneDNN (optional) runs the CPU backend's matrix products when found: its dnnl_sgemm reaches 80-95% of
# the fp32 FMA peak at ViT shapes where Eigen's GEMM reaches 60-70% (include/vit/cpu/gemm.hpp). Found by
# Findonednn.cmake (target onednn::onednn) rather than Debian's dnnl-config.cmake, which requires the
# OpenCL development files for oneDNN's GPU runtime; vit uses only the CPU sgemm. Without it Eigen does
# the products.
option(VIT_WITH_ONEDNN "Use oneDNN for the CPU backend's matrix products when it is found" ON)
set(VIT_HAS_ONEDNN OFF)
if(VIT_WITH_ONEDNN)
  find_package(onednn)
  set(VIT_HAS_ONEDNN ${onednn_FOUND})
endif()
if(VIT_HAS_ONEDNN)
  message(STATUS "vit: CPU matrix products by oneDNN (${onednn_LIBRARY})")
else()
  message(STATUS "vit: CPU matrix products by Eigen (oneDNN not found or VIT_WITH_ONEDNN=OFF)")
endif()
