# vit_cuda_native_architectures(RESULT NVIDIA_SMI): RESULT = the compute capabilities of this machine's GPUs as
# CMAKE_CUDA_ARCHITECTURES wants them ("80;90"), sorted and without repeats, from `NVIDIA_SMI
# --query-gpu=compute_cap --format=csv,noheader` (one "9.0" per GPU); empty when that command fails or lists none.
# What CMake 3.24+ does for CMAKE_CUDA_ARCHITECTURES=native, for older CMake (cmake/cuda.cmake).
function(vit_cuda_native_architectures result nvidia_smi)
  execute_process(COMMAND ${nvidia_smi} --query-gpu=compute_cap --format=csv,noheader
                  OUTPUT_VARIABLE output RESULT_VARIABLE status ERROR_QUIET)
  set(architectures "")
  if(status EQUAL 0)
    string(REGEX MATCHALL "[0-9]+\\.[0-9]+" capabilities "${output}")
    foreach(capability IN LISTS capabilities)
      string(REPLACE "." "" architecture "${capability}")
      list(APPEND architectures ${architecture})
    endforeach()
    list(REMOVE_DUPLICATES architectures)
    list(SORT architectures COMPARE NATURAL)
  endif()
  set(${result} "${architectures}" PARENT_SCOPE)
endfunction()
