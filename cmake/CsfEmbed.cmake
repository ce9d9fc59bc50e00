# Text files compiled into a program or the library as a C string, so that
# what is written or served always matches the build that carries it.
#
#   csf_embed(TARGET SYMBOL FILE)  adds a generated C file that defines
#   `const char SYMBOL[]` (NUL-terminated; sizeof - 1 is its length) from
#   FILE, and regenerates it when FILE changes.
set(CSF_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/CsfEmbedRun.cmake)

function(csf_embed target symbol file)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embed_${symbol}.c)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DIN=${file} -DOUT=${out} -DSYMBOL=${symbol} -P ${CSF_EMBED_SCRIPT}
    DEPENDS ${file} ${CSF_EMBED_SCRIPT}
    COMMENT "Embedding ${file}")
  target_sources(${target} PRIVATE ${out})
endfunction()
