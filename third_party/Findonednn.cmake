# Finds Debian's libdnnl-dev (oneDNN) by hand: its own dnnl-config.cmake requires the OpenCL development
# files for oneDNN's GPU runtime, and vit uses only the CPU sgemm. Defines the imported target onednn::onednn.
find_path(onednn_INCLUDE_DIR NAMES dnnl.h)
find_library(onednn_LIBRARY NAMES dnnl)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(onednn REQUIRED_VARS onednn_LIBRARY onednn_INCLUDE_DIR)
if(onednn_FOUND AND NOT TARGET onednn::onednn)
  add_library(onednn::onednn UNKNOWN IMPORTED)
  set_target_properties(onednn::onednn PROPERTIES IMPORTED_LOCATION "${onednn_LIBRARY}"
                                                  INTERFACE_INCLUDE_DIRECTORIES "${onednn_INCLUDE_DIR}")
endif()
mark_as_advanced(onednn_INCLUDE_DIR onednn_LIBRARY)
