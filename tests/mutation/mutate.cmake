# Writes a copy of the library's headers with one deliberate bug (a mutant), for the mutation tests:
#   cmake -DSOURCE=<include dir> -DDESTINATION=<dir> -DMUTANT=<name> -P mutate.cmake
# Each mutant is a regular-expression replacement in one header; a pattern that no longer matches is an
# error, so that a refactoring cannot silently turn a mutation test into one that tests nothing.
if(MUTANT STREQUAL "softmax_backward")
  # The softmax backward without its row term: dS = P ⊙ dP instead of P ⊙ (dP - rowsum(P ⊙ dP)).
  set(file vit/cpu/attention.hpp)
  set(pattern "p_row \\* \\(dp_row - dot\\)")
  set(replacement "p_row * dp_row")
elseif(MUTANT STREQUAL "missing_residual")
  # The MLP half's residual path dropped: norm2's input gradient overwrites dx instead of adding to it.
  set(file vit/nn/block.hpp)
  set(pattern "gradients\\.norm2,([ \n]*)Output::Accumulate")
  set(replacement "gradients.norm2,\\1Output::Overwrite")
elseif(MUTANT STREQUAL "transposed_weight_gradient")
  # xᵀ·dy stored where dyᵀ·x belongs: for a square weight (attn.proj) the gradient lands transposed.
  set(file vit/cpu/linear.hpp)
  set(pattern "detail::gemm\\(\\{dy\\.data\\(\\) \\+ begin, rows, end - begin, out\\}, detail::ALayout::KByM, \\{x\\.data\\(\\), rows, in, in\\},")
  set(replacement "if (in == out) detail::gemm({x.data() + begin, rows, end - begin, in}, detail::ALayout::KByM, {dy.data(), rows, out, out}, detail::BLayout::KByN, 1.0f, {dweight.data() + begin * in, end - begin, in, in}, Output::Accumulate); else detail::gemm({dy.data() + begin, rows, end - begin, out}, detail::ALayout::KByM, {x.data(), rows, in, in},")
else()
  message(FATAL_ERROR "mutate.cmake: unknown mutant '${MUTANT}'")
endif()

file(REMOVE_RECURSE "${DESTINATION}")
file(COPY "${SOURCE}/vit" DESTINATION "${DESTINATION}")
file(READ "${SOURCE}/${file}" text)
string(REGEX MATCH "${pattern}" found "${text}")
if(NOT found)
  message(FATAL_ERROR "mutate.cmake: mutant '${MUTANT}' no longer applies: '${pattern}' is not in ${file}")
endif()
string(REGEX REPLACE "${pattern}" "${replacement}" mutated "${text}")
file(WRITE "${DESTINATION}/${file}" "${mutated}")
