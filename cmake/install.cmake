# Install and export rules: `find_package(vit)` after `cmake --install`, or `add_subdirectory(vit)`.
#   vit::vit   the header-only library (always)
#   vit::cuda  the CUDA backend's static library with its headers (include/vit/cuda*), installed only when
#              it is built (a top-level build with nvcc); otherwise neither the library nor its headers are.
#              Consumers get it through find_package(vit COMPONENTS cuda), or as an optional part of a plain
#              find_package(vit) when the CUDA toolkit is found.
include(CMakePackageConfigHelpers)

set(vit_install_cuda OFF)
if(TARGET vit_cuda AND VIT_IS_TOP_LEVEL)
  set(vit_install_cuda ON)
endif()
set(vit_cmake_dir ${CMAKE_INSTALL_DATADIR}/vit/cmake)

# The .cuh files are the CUDA backend's implementation, compiled into vit::cuda: never installed.
install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} PATTERN "*.cuh" EXCLUDE
        PATTERN "vit/cuda" EXCLUDE PATTERN "vit/cuda.hpp" EXCLUDE)
install(TARGETS vit EXPORT vitTargets)
install(EXPORT vitTargets NAMESPACE vit:: DESTINATION ${vit_cmake_dir})
if(vit_install_cuda)
  install(DIRECTORY include/vit/cuda DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/vit PATTERN "*.cuh" EXCLUDE)
  install(FILES include/vit/cuda.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/vit)
  set_target_properties(vit_cuda PROPERTIES EXPORT_NAME cuda)  # vit::cuda, as in the build tree
  install(TARGETS vit_cuda EXPORT vitCudaTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT vitCudaTargets NAMESPACE vit:: DESTINATION ${vit_cmake_dir})
  set(vit_version_arch)  # a compiled library: the package is no longer architecture-independent
else()
  set(vit_version_arch ARCH_INDEPENDENT)
endif()

configure_package_config_file(cmake/vitConfig.cmake.in ${PROJECT_BINARY_DIR}/vitConfig.cmake
                              INSTALL_DESTINATION ${vit_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vitConfigVersion.cmake COMPATIBILITY SameMinorVersion
                                 ${vit_version_arch})
install(FILES ${PROJECT_BINARY_DIR}/vitConfig.cmake ${PROJECT_BINARY_DIR}/vitConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/third_party/Findstb.cmake ${PROJECT_SOURCE_DIR}/third_party/Findturbojpeg.cmake
              ${PROJECT_SOURCE_DIR}/third_party/Findonednn.cmake
        DESTINATION ${vit_cmake_dir})
