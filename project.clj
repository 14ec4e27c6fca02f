;; The topology uberjar that `sparse run` / `sparse submit` build with Leiningen.
;; Storm 2.8.3 (storm.versions says why not 3.x): flux-core goes into the jar (the Storm
;; home has no Flux); storm-core is `provided` with compile scope, so `lein deps :tree`
;; shows it (streamparse checks it against `storm version`) but the jar leaves it out.
;;
;; Builds run offline from the checkout's own Maven repository (.tools/m2, or
;; $SHOOT2TOP_MAVEN_REPO), which scripts/install-storm.sh fills with everything listed
;; here (it runs `lein with-profile +fetch ...` online, then proves the builds offline).
;; After changing a dependency, run scripts/install-storm.sh again.
(defproject shoot2top "0.1.0"
  :resource-paths ["_resources"]
  :target-path "_build"
  :min-lein-version "2.0.0"
  :jvm-opts ["-client"]
  :local-repo ~(or (System/getenv "SHOOT2TOP_MAVEN_REPO") ".tools/m2")
  :offline? true
  ;; carbonite is published only outside Maven Central, and nothing here needs it
  :managed-dependencies [[org.apache.storm/storm-clojure "2.8.3"
                          :exclusions [org.clojars.bipinprasad/carbonite]]]
  :dependencies [[org.apache.storm/flux-core "2.8.3"]]
  :profiles {:base {}  ; lein's default base profile wants nrepl from elsewhere
             :fetch {:offline? false}  ; only scripts/install-storm.sh uses it
             :provided {:dependencies [[org.apache.storm/storm-core "2.8.3" :scope "compile"]]}}
  ;; jar entries use slashes: keep Flux, drop the rest of Storm and stray configs
  :uberjar-exclusions [#"log4j\.properties" #"org/apache/storm/(?!flux)" #"META-INF/(?!MANIFEST)" #"\.yaml$"])
