# Install rules of the server (the client library's are in packaging/client.cmake), the man
# pages generated from the binary, and the .deb (packaging/deb.cmake). Included by
# CMakeLists.txt after the siteinvites target. Layout (GNUInstallDirs):
#   bin/siteinvites                      share/siteinvites/templates/...
#   share/man/man1/siteinvites.1         share/man/man5/siteinvites.conf.5
#   lib/systemd/system/siteinvites.service, lib/sysusers.d/, lib/tmpfiles.d/siteinvites.conf
#   /etc/siteinvites/siteinvites.conf (PREFIX/etc/... unless the prefix is /usr), mode 0640

# siteinvites(1) and siteinvites.conf(5), written by the binary from its own tables.
set(SI_MAN_DIR ${CMAKE_BINARY_DIR}/man)
foreach(page siteinvites.1 siteinvites.conf.5)
  string(REGEX REPLACE ".*\\." "" section ${page})
  add_custom_command(OUTPUT ${SI_MAN_DIR}/${page}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${SI_MAN_DIR}
    COMMAND ${CMAKE_COMMAND} -DBIN=$<TARGET_FILE:siteinvites> -DSECTION=${section}
            -DOUT=${SI_MAN_DIR}/${page} -P ${CMAKE_SOURCE_DIR}/packaging/man.cmake
    DEPENDS siteinvites ${CMAKE_SOURCE_DIR}/packaging/man.cmake VERBATIM)
  list(APPEND SI_MAN_PAGES ${SI_MAN_DIR}/${page})
  install(FILES ${SI_MAN_DIR}/${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section}
          COMPONENT server)
endforeach()
add_custom_target(si_man ALL DEPENDS ${SI_MAN_PAGES})

install(TARGETS siteinvites RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
# Every folder of templates/ as it is at install time (mail/, pages/, and whatever comes).
install(DIRECTORY ${CMAKE_SOURCE_DIR}/templates/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/siteinvites/templates COMPONENT server)

# The unit, sysusers and tmpfiles snippets and the example config name absolute paths of the
# install (ExecStart, the config file), and `cmake --install --prefix` or CPack may choose the
# prefix after configuring: they are written at install time. The settings live in /etc when
# the prefix is /usr (as GNUInstallDirs says), else in PREFIX/etc.
install(CODE "
  set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
  set(confdir \"\${prefix}/${CMAKE_INSTALL_SYSCONFDIR}/siteinvites\")
  if(prefix STREQUAL \"/usr\")
    set(confdir /etc/siteinvites)
  endif()
  set(bindir \"\${prefix}/${CMAKE_INSTALL_BINDIR}\")
  set(out \"${CMAKE_BINARY_DIR}/install-time\")
  configure_file(\"${CMAKE_SOURCE_DIR}/packaging/siteinvites.service.in\"
                 \"\${out}/siteinvites.service\" @ONLY)
  configure_file(\"${CMAKE_SOURCE_DIR}/packaging/tmpfiles.conf.in\" \"\${out}/tmpfiles/siteinvites.conf\"
                 @ONLY)
  file(INSTALL \"\${out}/siteinvites.service\" DESTINATION \"\${prefix}/lib/systemd/system\")
  file(INSTALL \"${CMAKE_SOURCE_DIR}/packaging/sysusers.conf\" DESTINATION \"\${prefix}/lib/sysusers.d\"
       RENAME siteinvites.conf)
  file(INSTALL \"\${out}/tmpfiles/siteinvites.conf\" DESTINATION \"\${prefix}/lib/tmpfiles.d\")
  file(INSTALL \"${CMAKE_SOURCE_DIR}/packaging/siteinvites.conf\" DESTINATION \"\${confdir}\"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
" COMPONENT server)

include(${CMAKE_CURRENT_LIST_DIR}/deb.cmake)
