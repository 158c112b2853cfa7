# Runs AWK -v version=VERSION -f SCRIPT IN [IN2] and writes its output to OUT (through a
# temporary file, so a failed run never leaves a half-written OUT behind).
# Usage: cmake -DAWK=... -DSCRIPT=... -DIN=... [-DIN2=...] [-DVERSION=...] -DOUT=... -P run_awk.cmake
set(inputs ${IN})
if(IN2)
  list(APPEND inputs ${IN2})
endif()
execute_process(COMMAND ${AWK} -v version=${VERSION} -f ${SCRIPT} ${inputs}
                OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "${SCRIPT} failed (${rc}) on ${inputs}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
