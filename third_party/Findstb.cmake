# Finds Debian's libstb-dev (headers in <stb/...> plus libstb, which holds the implementations, so no
# translation unit of ours defines STB_IMAGE_IMPLEMENTATION). Defines the imported target stb::stb.
find_path(stb_INCLUDE_DIR NAMES stb/stb_image.h)
find_library(stb_LIBRARY NAMES stb)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(stb REQUIRED_VARS stb_LIBRARY stb_INCLUDE_DIR)
if(stb_FOUND AND NOT TARGET stb::stb)
  add_library(stb::stb UNKNOWN IMPORTED)
  set_target_properties(stb::stb PROPERTIES IMPORTED_LOCATION "${stb_LIBRARY}"
                                            INTERFACE_INCLUDE_DIRECTORIES "${stb_INCLUDE_DIR}")
endif()
mark_as_advanced(stb_INCLUDE_DIR stb_LIBRARY)
