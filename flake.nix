{
  # Carapace from source with Nix. Checked here with `nix-instantiate --parse` and `nix flake show`
  # against a stand-in nixpkgs (this machine cannot fetch nixpkgs); see docs/RELEASE.md, "Nix".
  description = "Carapace: a personal AI agent that cannot hurt you";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs = { self, nixpkgs }:
    let
      lib = nixpkgs.lib;
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      version = (builtins.fromJSON (builtins.readFile ./package.json)).version;

      # The build needs the runtime dependencies only; zeromq's npm tarball carries the prebuilt
      # libzmq for every platform, so this tree (and its hash) is the same on every system.
      # `bun install` needs the network, hence a fixed-output derivation: when bun.lock changes,
      # build once and replace the hash with the one Nix reports.
      nodeModulesHash = "sha256-hUN2vsLyKAMOX2tSt1M9MHjXvTkjUdzE/sv3Ivoe/6A=";

      carapaceFor = pkgs:
        let
          nodeModules = pkgs.stdenvNoCC.mkDerivation {
            pname = "carapace-node-modules";
            inherit version;
            src = lib.fileset.toSource {
              root = ./.;
              fileset = lib.fileset.unions [ ./package.json ./bun.lock ];
            };
            nativeBuildInputs = [ pkgs.bun ];
            dontConfigure = true;
            buildPhase = ''
              export HOME=$TMPDIR
              bun install --frozen-lockfile --ignore-scripts --production --no-progress
            '';
            installPhase = "cp -R node_modules $out";
            dontFixup = true;
            outputHashMode = "recursive";
            outputHashAlgo = "sha256";
            outputHash = nodeModulesHash;
          };
        in
        pkgs.stdenvNoCC.mkDerivation {
          pname = "carapace";
          inherit version;
          src = ./.;
          nativeBuildInputs = [ pkgs.bun ];
          dontConfigure = true;
          buildPhase = ''
            export HOME=$TMPDIR
            cp -R ${nodeModules} node_modules
            chmod -R u+w node_modules
            bun build/compile.ts
          '';
          installPhase = ''
            install -Dm755 dist/carapace $out/bin/carapace
            install -Dm755 dist/ipc $out/bin/ipc
          '';
          # A `bun build --compile` executable is the Bun runtime with the program appended:
          # stripping or patching it would cut the program off.
          dontStrip = true;
          dontPatchELF = true;
          passthru = { inherit nodeModules; };
          meta = {
            description = "A personal AI agent that cannot hurt you";
            license = lib.licenses.mit;
            mainProgram = "carapace";
            platforms = systems;
          };
        };

      # The container is Linux: ipc, the libzmq it loads, the lockdown settings and the entrypoint.
      # Claude Code is not in it (its pinned npm build is added by `carapace image build`).
      imageFor = pkgs: carapace:
        let arch = if pkgs.stdenv.hostPlatform.isAarch64 then "arm64" else "x64"; in
        pkgs.dockerTools.buildLayeredImage {
          name = "carapace-agent-base";
          tag = version;
          contents = [ pkgs.bashInteractive pkgs.coreutils ];
          extraCommands = ''
            install -Dm555 ${carapace}/bin/ipc usr/local/bin/ipc
            install -Dm444 ${carapace.nodeModules}/zeromq/build/linux/${arch}/node/glibc-127-Release/addon.node \
              usr/local/lib/carapace/libzmq.so
            install -Dm444 ${./container/managed-settings.json} etc/claude-code/managed-settings.json
            install -Dm555 ${./container/entrypoint.sh} usr/local/bin/carapace-entrypoint
            mkdir -p workspace home/agent/.claude run/carapace
          '';
          config = {
            User = "65534:65534";
            WorkingDir = "/workspace";
            Entrypoint = [ "/usr/local/bin/carapace-entrypoint" ];
            Env = [
              "HOME=/home/agent"
              "CARAPACE_LIBZMQ=/usr/local/lib/carapace/libzmq.so"
              "CARAPACE_SOCKET=/run/carapace/request.sock"
              "PATH=/usr/local/bin:/bin"
            ];
          };
        };
    in
    {
      overlays.default = final: _prev: { carapace = carapaceFor final; };

      packages = forAllSystems (pkgs:
        let carapace = carapaceFor pkgs; in
        { default = carapace; inherit carapace; }
        // lib.optionalAttrs pkgs.stdenv.isLinux { container-image = imageFor pkgs carapace; });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [ pkgs.bun pkgs.nodejs_20 pkgs.shellcheck pkgs.openssl pkgs.curl ]
            ++ lib.optionals pkgs.stdenv.isLinux [ pkgs.podman pkgs.qemu ];
        };
      });
    };
}
