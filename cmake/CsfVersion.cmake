# The release version lives in one place, include/csf/core.h; read it from there.
file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/../include/csf/core.h" _csf_version_lines
     REGEX "^#define CSF_VERSION_(MAJOR|MINOR|PATCH) ")
foreach(_line IN LISTS _csf_version_lines)
  if(_line MATCHES "^#define CSF_VERSION_(MAJOR|MINOR|PATCH) +([0-9]+)")
    set(_csf_${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
  endif()
endforeach()
set(CSF_VERSION_FROM_HEADER "${_csf_MAJOR}.${_csf_MINOR}.${_csf_PATCH}")

# The ABI version, apart from the release: bump it when a change breaks
# programs linked against an older libcsf.so (docs/architecture.md, "ABI").
set(CSF_SOVERSION 0)
