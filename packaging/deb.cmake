# `make package`: one .deb of the server, its templates, unit, man pages and the client library,
# laid out for the prefix /usr (the example config in /etc as a conffile). CPack installs with
# DESTDIR, so the install-time rules (packaging/install.cmake) see the prefix /usr. Runtime
# dependencies come from dpkg-shlibdeps; the maintainer scripts are in packaging/debian/.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME siteinvites)
set(CPACK_PACKAGE_VENDOR siteinvites)
set(CPACK_PACKAGE_CONTACT "siteinvites maintainers <siteinvites@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Self-hosted Site Invites service: HTTP API, invitee pages, mail worker, C client")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The maintainer scripts create the user with systemd-sysusers, else adduser.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/debian/postinst ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
    ${CMAKE_CURRENT_LIST_DIR}/debian/postrm ${CMAKE_CURRENT_LIST_DIR}/debian/conffiles)
include(CPack)
