# SPDX-License-Identifier: MIT
# cmake -DVIDREC=... -DHELP2MAN=... -DVERSION=... -DOUT=DIR -P man_pages.cmake
# Writes DIR/vidrec.1 and DIR/vidrec-SUB[-SUBSUB].1 for every subcommand that
# `vidrec --help` lists (recursively), from each one's --help. help2man runs a
# program by name, so each command gets a bash wrapper named after its page
# that runs vidrec with argv[0] "vidrec": Usage lines then show no build path.
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT}/wrappers)
set(pages "")

# help_subcommands(VAR ARGS...): the subcommand names `vidrec ARGS --help` lists.
function(help_subcommands var)
  execute_process(COMMAND ${VIDREC} ${ARGN} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "vidrec ${ARGN} --help failed (${rc})")
  endif()
  set(names "")
  if(help MATCHES "\nSubcommands:\n(.*)")
    string(REPLACE "\n" ";" lines "${CMAKE_MATCH_1}")
    foreach(line IN LISTS lines)
      if(line STREQUAL "")
        break()
      endif()
      if(line MATCHES "^  ([a-z][a-z0-9_-]*)  +(.*)$")
        list(APPEND names "${CMAKE_MATCH_1}")
        set(summary_${CMAKE_MATCH_1} "${CMAKE_MATCH_2}" PARENT_SCOPE)
      endif()
    endforeach()
  endif()
  set(${var} "${names}" PARENT_SCOPE)
endfunction()

# page(NAME SUMMARY [SEE_ALSO_FILE] ARGS...): DIR/NAME.1 from `vidrec ARGS --help`.
function(page name summary include)
  set(wrapper ${OUT}/wrappers/${name})
  string(REPLACE ";" " " args "${ARGN}")
  file(WRITE ${wrapper} "#!/bin/bash\nexec -a vidrec '${VIDREC}' ${args} \"$@\"\n")
  execute_process(COMMAND chmod +x ${wrapper})
  set(opts --no-info --section=1 "--name=${summary}" "--version-string=${VERSION}" --source=vidrec)
  if(include)
    list(APPEND opts "--include=${include}")
  endif()
  execute_process(COMMAND ${HELP2MAN} ${opts} --output=${OUT}/${name}.1 ${wrapper} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "help2man failed for ${name}")
  endif()
endfunction()

set(see_also "[SEE ALSO]\n")
help_subcommands(subs)
foreach(sub IN LISTS subs)
  help_subcommands(subsubs ${sub})
  page(vidrec-${sub} "${summary_${sub}}" "" ${sub})
  string(APPEND see_also ".BR vidrec-${sub} (1)\n")
  foreach(subsub IN LISTS subsubs)
    page(vidrec-${sub}-${subsub} "${summary_${subsub}}" "" ${sub} ${subsub})
    string(APPEND see_also ".BR vidrec-${sub}-${subsub} (1)\n")
  endforeach()
endforeach()
file(WRITE ${OUT}/see_also.h2m "${see_also}")
# Last: vidrec.1 is the build's stamp that every page is written.
page(vidrec "video recommendations from interaction logs" ${OUT}/see_also.h2m)
