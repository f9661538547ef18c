# The public C client library (src/client, include/siteinvites/client.h), over libcurl and
# jansson only, so `-DSI_CLIENT_ONLY=ON` builds it without the server's libraries:
#   siteinvites_client         libsiteinvites-client.a: `invite import` and tests link it
#   siteinvites_client_shared  libsiteinvites-client.so.0.1.0, SONAME .so.0, exporting only si_*
# and installs both with the header, siteinvites-client.pc, a CMake package
# (find_package(SiteInvitesClient)) and siteinvites-client(3). Included by CMakeLists.txt.
file(GLOB SI_CLIENT_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/client/*.c)
if(NOT SI_CLIENT_SOURCES)
  return()
endif()
set(SI_CLIENT_DEPS $<BUILD_INTERFACE:PkgConfig::CURL> $<BUILD_INTERFACE:PkgConfig::JANSSON>
    $<INSTALL_INTERFACE:PkgConfig::SiteInvitesClient_CURL>
    $<INSTALL_INTERFACE:PkgConfig::SiteInvitesClient_JANSSON>)
set(SI_CLIENT_INCLUDES $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

add_library(siteinvites_client STATIC ${SI_CLIENT_SOURCES})
target_include_directories(siteinvites_client PUBLIC ${SI_CLIENT_INCLUDES})
target_link_libraries(siteinvites_client PUBLIC ${SI_CLIENT_DEPS})
set_target_properties(siteinvites_client PROPERTIES OUTPUT_NAME siteinvites-client
                      EXPORT_NAME siteinvites-client-static POSITION_INDEPENDENT_CODE ON)

add_library(siteinvites_client_shared SHARED ${SI_CLIENT_SOURCES})
target_include_directories(siteinvites_client_shared PUBLIC ${SI_CLIENT_INCLUDES})
target_link_libraries(siteinvites_client_shared PRIVATE PkgConfig::CURL PkgConfig::JANSSON)
target_link_options(siteinvites_client_shared PRIVATE
                    -Wl,--version-script=${CMAKE_SOURCE_DIR}/packaging/client.map -Wl,--no-undefined)
set_target_properties(siteinvites_client_shared PROPERTIES OUTPUT_NAME siteinvites-client
  EXPORT_NAME siteinvites-client VERSION ${PROJECT_VERSION} SOVERSION 0
  LINK_DEPENDS ${CMAKE_SOURCE_DIR}/packaging/client.map)

# siteinvites-client(3), from the header's own comments (packaging/man.cmake).
set(SI_MAN_DIR ${CMAKE_BINARY_DIR}/man)
add_custom_command(OUTPUT ${SI_MAN_DIR}/siteinvites-client.3
  COMMAND ${CMAKE_COMMAND} -E make_directory ${SI_MAN_DIR}
  COMMAND ${CMAKE_COMMAND} -DHEADER=${CMAKE_SOURCE_DIR}/include/siteinvites/client.h
          -DVERSION=${PROJECT_VERSION} -DOUT=${SI_MAN_DIR}/siteinvites-client.3
          -P ${CMAKE_SOURCE_DIR}/packaging/man.cmake
  DEPENDS ${CMAKE_SOURCE_DIR}/include/siteinvites/client.h ${CMAKE_SOURCE_DIR}/packaging/man.cmake
  VERBATIM)
add_custom_target(si_man_client ALL DEPENDS ${SI_MAN_DIR}/siteinvites-client.3)

install(TARGETS siteinvites_client siteinvites_client_shared EXPORT SiteInvitesClientTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT client
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT client)
install(FILES ${CMAKE_SOURCE_DIR}/include/siteinvites/client.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/siteinvites COMPONENT client)
install(FILES ${SI_MAN_DIR}/siteinvites-client.3 DESTINATION ${CMAKE_INSTALL_MANDIR}/man3
        COMPONENT client)

set(SI_CMAKE_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/SiteInvitesClient)
install(EXPORT SiteInvitesClientTargets NAMESPACE SiteInvitesClient::
        DESTINATION ${SI_CMAKE_PACKAGE_DIR} COMPONENT client)
include(CMakePackageConfigHelpers)
configure_package_config_file(${CMAKE_SOURCE_DIR}/packaging/SiteInvitesClientConfig.cmake.in
  ${CMAKE_BINARY_DIR}/SiteInvitesClientConfig.cmake INSTALL_DESTINATION ${SI_CMAKE_PACKAGE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/SiteInvitesClientConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/SiteInvitesClientConfig.cmake
        ${CMAKE_BINARY_DIR}/SiteInvitesClientConfigVersion.cmake
        DESTINATION ${SI_CMAKE_PACKAGE_DIR} COMPONENT client)

# siteinvites-client.pc names the prefix of the install, which `cmake --install --prefix` and
# CPack choose after configuring: written at install time.
install(CODE "
  set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
  set(libdir \"\\\${prefix}/${CMAKE_INSTALL_LIBDIR}\")
  set(includedir \"\\\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${CMAKE_SOURCE_DIR}/packaging/siteinvites-client.pc.in\"
                 \"${CMAKE_BINARY_DIR}/install-time/siteinvites-client.pc\" @ONLY)
  file(INSTALL \"${CMAKE_BINARY_DIR}/install-time/siteinvites-client.pc\"
       DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\")
" COMPONENT client)
