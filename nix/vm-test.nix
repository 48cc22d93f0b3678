# NixOS VM test: Docker, gitlab-runner with a config.toml holding one docker runner, the module
# provisioning from gitlab-runner.service, `nix-runner smoke` as a job, and a switch to another
# daemon image that must re-provision and keep the store. Needs a builder with KVM.
{ pkgs, nixosModule }:
let
  configToml = "/var/lib/gitlab-runner/.gitlab-runner/config.toml";

  # No registry in the VM: the job image is built here and loaded by the test.
  jobImage = pkgs.dockerTools.streamLayeredImage {
    name = "nix-runner-job";
    tag = "latest";
    contents = [ pkgs.busybox ];
  };

  runnerConfig = pkgs.writeText "config.toml" ''
    concurrent = 1
    check_interval = 3600

    [[runners]]
      name = "vm-runner"
      url = "http://127.0.0.1:9/"
      token = "glrt-nix-runner-vm-test"
      executor = "docker"
      [runners.docker]
        image = "nix-runner-job:latest"
        pull_policy = ["never"]
  '';
in
pkgs.testers.runNixOSTest {
  name = "nix-runner";

  nodes.machine =
    { config, lib, ... }:
    {
      imports = [ nixosModule ];

      virtualisation = {
        docker.enable = true;
        diskSize = 8192;
        memorySize = 3072;
        additionalPaths = [ jobImage ];
      };

      # A runner without a GitLab: nixpkgs' configure step copies this file to config.toml.
      services.gitlab-runner = {
        enable = true;
        configFile = runnerConfig;
      };
      # That step copies without creating the directory on a first boot.
      systemd.services.gitlab-runner.serviceConfig.ExecStartPre = lib.mkBefore [
        "!${pkgs.coreutils}/bin/mkdir -p /var/lib/gitlab-runner/.gitlab-runner"
      ];

      services.nix-runner = {
        enable = true;
        daemons.nix-daemon.runners = [ "vm-runner" ];
      };

      # Stands in for a flake update: the same daemon with another image.
      specialisation.new-image.configuration = {
        services.nix-runner.daemons.nix-daemon.image.storePath = config.nix.package;
      };
    };

  testScript = ''
    import json

    def daemon():
        return json.loads(machine.succeed("docker inspect nix-daemon"))[0]

    start_all()
    machine.wait_for_unit("docker.service")
    machine.wait_for_unit("gitlab-runner.service")

    with subtest("gitlab-runner.service provisioned the daemon and config.toml"):
        machine.succeed("grep -F 'nix-daemon:ro' ${configToml}")
        machine.succeed("grep -F 'NIX_REMOTE=daemon' ${configToml}")
        first = daemon()
        assert first["State"]["Running"], first["State"]
        nix = first["Config"]["Labels"]["org.nix-runner.nix"]
        assert nix.startswith("/nix/store/"), nix

    with subtest("a job gets nix through the daemon"):
        machine.succeed("${jobImage} | docker load")
        machine.succeed(
            "nix-runner smoke --runner-config ${configToml} --runner vm-runner --image nix-runner-job:latest"
        )

    with subtest("a restart with the same inputs keeps the daemon"):
        machine.systemctl("restart gitlab-runner.service")
        machine.wait_for_unit("gitlab-runner.service")
        assert daemon()["Id"] == first["Id"]

    with subtest("a new image re-provisions on switch and keeps the store"):
        machine.succeed("echo kept > /tmp/marker && docker cp /tmp/marker nix-daemon:/tmp/marker")
        marker = machine.succeed(
            f"docker exec -e NIX_REMOTE=daemon nix-daemon {nix}/bin/nix-store --add /tmp/marker"
        ).strip()
        machine.succeed("/run/current-system/specialisation/new-image/bin/switch-to-configuration test")
        machine.wait_for_unit("gitlab-runner.service")
        second = daemon()
        assert second["Id"] != first["Id"], "the daemon was not re-created for the new image"
        new_nix = second["Config"]["Labels"]["org.nix-runner.nix"]
        machine.succeed(f"docker exec nix-daemon {new_nix}/bin/nix-store --check-validity {marker}")
        machine.succeed(
            "nix-runner smoke --runner-config ${configToml} --runner vm-runner --image nix-runner-job:latest"
        )
  '';
}
