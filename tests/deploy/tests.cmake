# The fleet and deployment files under deploy/ (ctest -L deploy): the alerting rules checked
# and unit-tested by promtool, every metric name the dashboard and rules use checked against
# a real exposition of reaperd. Exit 77 is a skip (a tool missing), with the reason on stderr.
add_test(NAME deploy_alerts COMMAND ${CMAKE_SOURCE_DIR}/tests/deploy/alerts.sh ${CMAKE_SOURCE_DIR})
add_test(NAME deploy_metric_names
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/deploy/metric_names.py ${CMAKE_BINARY_DIR}
                 ${CMAKE_SOURCE_DIR} $<TARGET_FILE:reaperd>)
set_tests_properties(deploy_alerts deploy_metric_names PROPERTIES LABELS deploy
                     SKIP_RETURN_CODE 77 TIMEOUT 120)
# The Kubernetes manifests against the API's schema (tests/deploy/manifests.mjs), with the npm
# packages `make deploy-deps` installs into BUILD/deploy-node (skipped without them).
add_test(NAME deploy_manifests
         COMMAND node ${CMAKE_SOURCE_DIR}/tests/deploy/manifests.mjs
                 ${CMAKE_BINARY_DIR}/deploy-node ${CMAKE_SOURCE_DIR})
set_tests_properties(deploy_manifests PROPERTIES LABELS deploy SKIP_RETURN_CODE 77 TIMEOUT 120)
# The ConfigMap's reaperd.toml passes `reaperd check-config`.
add_test(NAME deploy_configmap
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/deploy/configmap.py ${CMAKE_BINARY_DIR}
                 ${CMAKE_SOURCE_DIR} $<TARGET_FILE:reaperd>)
set_tests_properties(deploy_configmap PROPERTIES LABELS deploy TIMEOUT 60)
# The image built from the tree and run under Podman as the DaemonSet runs it: a leaking
# container is killed by reaperd, its sibling and reaperd live on (tests/deploy/podman_lab.sh).
add_test(NAME deploy_podman_lab
         COMMAND ${CMAKE_SOURCE_DIR}/tests/deploy/podman_lab.sh ${CMAKE_BINARY_DIR}
                 ${CMAKE_SOURCE_DIR} $<TARGET_FILE:reaperd>)
set_tests_properties(deploy_podman_lab PROPERTIES LABELS "deploy;podman" SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE TIMEOUT 180)
