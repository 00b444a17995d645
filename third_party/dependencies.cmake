# Finds the system packages vit builds on (Debian: libeigen3-dev, nlohmann-json3-dev, libstb-dev,
# libturbojpeg0-dev, catch2, libcli11-dev).
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
