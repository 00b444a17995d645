# Run by CTest: configure, build and run the consumer project against vit.
#   MODE=add_subdirectory: the consumer adds the vit source tree.
#   MODE=find_package:     vit's build tree (VIT_BUILD_DIR, with vit::cuda when it was built) is installed
#                          into a scratch prefix first, then found there.
# SHARED_DIR: ../shared; when it holds the DeiT-tiny, images and labels, the consumer runs the pipeline on them.
file(REMOVE_RECURSE ${WORK_DIR})
set(consumer_args)
if(MODE STREQUAL "find_package")
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${VIT_BUILD_DIR} --prefix ${WORK_DIR}/prefix COMMAND_ERROR_IS_FATAL ANY)
  list(APPEND consumer_args -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
else()
  list(APPEND consumer_args -DVIT_SOURCE_DIR=${VIT_SOURCE_DIR})
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=Release ${consumer_args}
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build COMMAND_ERROR_IS_FATAL ANY)
set(run_args)
set(model ${SHARED_DIR}/models/deit_tiny_patch16_224.safetensors)
set(labels ${SHARED_DIR}/labels/imagenet_classes.txt)
if(EXISTS ${model} AND EXISTS ${labels} AND IS_DIRECTORY ${SHARED_DIR}/images)
  set(run_args ${model} ${SHARED_DIR}/images ${labels} ${WORK_DIR})
endif()
execute_process(COMMAND ${WORK_DIR}/build/consumer ${run_args} COMMAND_ERROR_IS_FATAL ANY)
