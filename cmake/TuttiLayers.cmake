# Layers enforced by the build. Each layer is an OBJECT library whose only include root for
# Tutti's own headers is a "view": a folder in the build tree holding links to the folders (or
# files) of that layer and of the layers below it. A header of a layer above is simply not
# there, so an include that runs back up fails to compile instead of slipping through review.
#
#   tutti_layer(NAME <layer> SOURCES <files...> SEES <paths...>)
#
# SEES lists include paths as the code writes them ("base", "topo", "transports/tcp"); a path is
# looked up under src/ first, then at the repository root. "transports/*.h" links every header
# directly in transports/ (the transport interface) and nothing below it.

function(tutti_layer)
  cmake_parse_arguments(L "" "NAME" "SOURCES;SEES" ${ARGN})
  set(view ${PROJECT_BINARY_DIR}/layer-views/${L_NAME})
  file(REMOVE_RECURSE ${view})
  file(MAKE_DIRECTORY ${view})
  foreach(seen ${L_SEES})
    if(seen MATCHES "\\*")
      file(GLOB matches CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/${seen})
    elseif(EXISTS ${PROJECT_SOURCE_DIR}/src/${seen})
      set(matches src/${seen})
    elseif(EXISTS ${PROJECT_SOURCE_DIR}/${seen})
      set(matches ${seen})
    else()
      message(FATAL_ERROR "tutti_layer(${L_NAME}): nothing named ${seen}")
    endif()
    foreach(match ${matches})
      string(REGEX REPLACE "^src/" "" link ${match})
      get_filename_component(parent ${view}/${link} DIRECTORY)
      file(MAKE_DIRECTORY ${parent})
      file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${match} ${view}/${link} SYMBOLIC)
    endforeach()
  endforeach()
  set(target tutti_${L_NAME})
  add_library(${target} OBJECT ${L_SOURCES})
  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    PRIVATE ${view})
  target_link_libraries(${target} PUBLIC Threads::Threads PRIVATE fmt::fmt-header-only)
  # Warnings for the C++ compiler only: a layer may hold CUDA sources too (nvcc takes other flags).
  target_compile_options(${target}
    PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:-Wall;-Wextra;-Wno-unused-parameter>")
  set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden
                                             CUDA_VISIBILITY_PRESET hidden
                                             VISIBILITY_INLINES_HIDDEN ON)
  target_compile_definitions(${target} PRIVATE TUTTI_BUILDING_LIBRARY)
  set_property(GLOBAL APPEND PROPERTY TUTTI_LAYER_TARGETS ${target})
endfunction()
