# Install and export rules: `find_package(vit)` after `cmake --install`, or `add_subdirectory(vit)`.
include(CMakePackageConfigHelpers)

# The .cuh files are the CUDA backend's implementation, compiled into vit::cuda, which is not installed.
install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} PATTERN "*.cuh" EXCLUDE)
install(TARGETS vit EXPORT vitTargets)
install(EXPORT vitTargets NAMESPACE vit:: DESTINATION ${CMAKE_INSTALL_DATADIR}/vit/cmake)

configure_package_config_file(cmake/vitConfig.cmake.in ${PROJECT_BINARY_DIR}/vitConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_DATADIR}/vit/cmake)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vitConfigVersion.cmake COMPATIBILITY SameMinorVersion
                                 ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/vitConfig.cmake ${PROJECT_BINARY_DIR}/vitConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/third_party/Findstb.cmake ${PROJECT_SOURCE_DIR}/third_party/Findturbojpeg.cmake
        DESTINATION ${CMAKE_INSTALL_DATADIR}/vit/cmake)
