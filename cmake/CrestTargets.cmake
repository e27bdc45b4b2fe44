include(GoogleTest)

# Warning flags shared by every target of ours. Left out because g++ 12 reports false positives
# with optimisation: -Wnull-dereference (inside Boost.Asio), -Wrestrict (std::string
# concatenation, GCC bug 105329), -Wmaybe-uninitialized (std::string members of aggregates
# passed as default arguments) and -Wmismatched-new-delete (Asio's coroutine frames).
add_library(crest_warnings INTERFACE)
target_compile_options(crest_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
  -Wimplicit-fallthrough -Wno-restrict -Wno-maybe-uninitialized
  -Wno-mismatched-new-delete $<$<BOOL:${CREST_WERROR}>:-Werror>)

# Include <utility> before any Boost.Asio header: Boost 1.74's awaitable.hpp needs std::exchange.
add_library(crest_asio INTERFACE)
target_link_libraries(crest_asio INTERFACE Boost::headers Boost::system Threads::Threads)
target_compile_definitions(crest_asio INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
target_compile_options(crest_asio INTERFACE -include utility)

# crest_library(NAME <name> DEPS <public deps...> [PRIVATE_DEPS <deps...>] [TEST_DEPS <deps...>])
#
# One static library per directory: libs/<name>/include is public, libs/<name>/src/*.cpp is the
# library, and libs/<name>/src/*_test.cpp become one GoogleTest binary, crest_<name>_test.
function(crest_library)
  cmake_parse_arguments(ARG "" "NAME" "DEPS;PRIVATE_DEPS;TEST_DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*_test.cpp)
  list(REMOVE_ITEM sources ${tests})

  add_library(crest_${ARG_NAME} STATIC ${sources})
  add_library(crest::${ARG_NAME} ALIAS crest_${ARG_NAME})
  target_include_directories(crest_${ARG_NAME} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(crest_${ARG_NAME} PUBLIC ${ARG_DEPS} PRIVATE crest_warnings ${ARG_PRIVATE_DEPS})

  if(tests)
    add_executable(crest_${ARG_NAME}_test ${tests})
    target_include_directories(crest_${ARG_NAME}_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_link_libraries(crest_${ARG_NAME}_test PRIVATE crest_${ARG_NAME} ${ARG_PRIVATE_DEPS}
      ${ARG_TEST_DEPS} crest_warnings GTest::gmock GTest::gtest_main)
    gtest_discover_tests(crest_${ARG_NAME}_test DISCOVERY_MODE PRE_TEST
      PROPERTIES LABELS unit)
  endif()
endfunction()
