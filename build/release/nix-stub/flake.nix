{
  # A stand-in for nixpkgs with just the attributes Carapace's flake.nix uses; every package is a
  # trivial derivation. It checks that the flake evaluates, not that it builds.
  outputs = { self }:
    let
      genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
      lib = {
        inherit genAttrs;
        optionalAttrs = c: a: if c then a else { };
        optionals = c: l: if c then l else [ ];
        licenses.mit = "MIT";
        fileset = { unions = l: l; toSource = { root, fileset }: builtins.path { path = root; name = "source"; filter = p: _: builtins.elem (baseNameOf p) (map baseNameOf fileset); }; };
      };
      pkgsFor = system:
        let
          drv = name: attrs: derivation ({ inherit name system; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; } // attrs);
          mk = args:
            let
              clean = builtins.removeAttrs args [ "passthru" "meta" "nativeBuildInputs" "packages" "pname" "version" "src" ];
              d = drv "${args.pname or "shell"}-${args.version or "0"}" (builtins.mapAttrs (_: v: if builtins.isBool v then (if v then "1" else "") else v) clean // { srcs = toString (args.src or ""); });
            in d // (args.passthru or { }) // { meta = args.meta or { }; };
          isLinux = builtins.match ".*-linux" system != null;
        in {
          stdenvNoCC.mkDerivation = mk;
          stdenv = { inherit isLinux; hostPlatform.isAarch64 = builtins.match "aarch64-.*" system != null; };
          mkShell = args: mk (args // { pname = "shell"; buildInputsStr = toString args.packages; });
          dockerTools.buildLayeredImage = args: drv "image-${args.name}-${args.tag}" { cmds = args.extraCommands; contents = toString args.contents; };
        } // genAttrs [ "bun" "nodejs_20" "shellcheck" "openssl" "curl" "podman" "qemu" "bashInteractive" "coreutils" ] (n: drv n { });
    in {
      inherit lib;
      legacyPackages = genAttrs [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ] pkgsFor;
    };
}
