cmake_minimum_required(VERSION 3.18) # NEW policies: "@VERSION@" below is text
# One man page: cmake -DGO_MD2MAN=... -DSRC=PAGE.md -DFILES_MD=docs/FILES.md
#   -DOUT=PAGE -DVERSION=... -DDATE=YYYY-MM-DD -P man.cmake
# writes OUT (roff) and OUT.gz. In SRC, @VERSION@ and @DATE@ are replaced,
# and a line @FILES.md@ by docs/FILES.md without its title, its sections one
# level up (## becomes a man section). Tables get an expanding last column
# so that tbl wraps them to the page width instead of overflowing it.
file(READ ${SRC} text)
string(REPLACE "@VERSION@" "${VERSION}" text "${text}")
string(REPLACE "@DATE@" "${DATE}" text "${text}")
if(text MATCHES "@FILES.md@")
  file(READ ${FILES_MD} files)
  string(REGEX REPLACE "^# [^\n]*\n" "" files "${files}")
  string(REGEX REPLACE "\n## " "\n# " files "${files}")
  string(REGEX REPLACE "\n### " "\n## " files "${files}")
  string(REPLACE "@FILES.md@" "${files}" text "${text}")
endif()
file(WRITE ${OUT}.md "${text}")
execute_process(COMMAND ${GO_MD2MAN} -in ${OUT}.md -out ${OUT}.roff
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "go-md2man failed on ${SRC}")
endif()
file(READ ${OUT}.roff roff)
# A tbl format line ("l l " or "l l l ."): the last column expands. Two
# passes: a match eats the newline the next format line starts with.
foreach(pass 1 2)
  string(REGEX REPLACE "\n((l )*)l ?(\\.?)\n" "\n\\1lx\\3\n" roff "${roff}")
endforeach()
file(WRITE ${OUT} "${roff}")
file(REMOVE ${OUT}.roff)
execute_process(COMMAND gzip -9nc ${OUT} OUTPUT_FILE ${OUT}.gz RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip failed on ${OUT}")
endif()
