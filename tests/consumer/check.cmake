# Run by CTest: configure, build and run the consumer project against vit.
#   MODE=add_subdirectory: the consumer adds the vit source tree.
#   MODE=find_package:     vit is installed into a scratch prefix first, then found there.
file(REMOVE_RECURSE ${WORK_DIR})
set(consumer_args)
if(MODE STREQUAL "find_package")
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${VIT_SOURCE_DIR} -B ${WORK_DIR}/vit-build -DVIT_BUILD_TESTS=OFF
                          -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${WORK_DIR}/vit-build COMMAND_ERROR_IS_FATAL ANY)
  list(APPEND consumer_args -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
else()
  list(APPEND consumer_args -DVIT_SOURCE_DIR=${VIT_SOURCE_DIR})
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=Release ${consumer_args}
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${WORK_DIR}/build/consumer COMMAND_ERROR_IS_FATAL ANY)
