# Run by csf_embed (CsfEmbed.cmake): IN, OUT, SYMBOL.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n\t" bytes "${bytes}")
get_filename_component(name ${IN} NAME)
file(WRITE ${OUT} "/* Generated from ${name} by cmake/CsfEmbed.cmake: do not edit. */\n"
  "extern const char ${SYMBOL}[];\nconst char ${SYMBOL}[] = {\n\t${bytes}0x00\n};\n")
