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
elseif(MUTANT STREQUAL "weight_decay_mask")
  # Weight decay on every parameter: norms, biases, tokens and the positional embedding decay too.
  set(file vit/train/parameter_groups.hpp)
  set(pattern "weight\\.shape\\.numel\\(\\), !no_decay,")
  set(replacement "weight.shape.numel(), true || !no_decay,")
elseif(MUTANT STREQUAL "bias_correction")
  # AdamW without the first moment's bias correction: step size lr instead of lr / (1 - β1ᵗ).
  set(file vit/train/adamw.hpp)
  set(pattern "float\\(double\\(lr\\) / bias_correction1\\)")
  set(replacement "float(double(lr))")
elseif(MUTANT STREQUAL "bias_gradient_accumulated_twice")
  # Every Linear bias gradient accumulated twice (as a backward that runs a layer's accumulation again would).
  set(file vit/cpu/linear.hpp)
  set(pattern "sums \\+= detail::ConstRowVectorMap\\(dy\\.data\\(\\) \\+ row \\* out \\+ begin, end - begin\\);")
  set(replacement "{ sums += detail::ConstRowVectorMap(dy.data() + row * out + begin, end - begin); sums += detail::ConstRowVectorMap(dy.data() + row * out + begin, end - begin); }")
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
